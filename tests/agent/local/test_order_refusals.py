"""Order requests the store's rules refuse, through the runner: the refusal comes as early as the
facts allow and says what the customer can do instead, and nothing in the store changes. A
cancellation too late for the order (a return once it arrives), an address change on a shipped
order (refused before the new address is asked for), and "can I return <item>?" naming an order
(the return flow's eligibility check refuses a final-sale item, whatever else the order holds)."""

from __future__ import annotations

from typing import Any

import pytest

from commerce.models import OrderStatus
from tests.agent.test_action_flows import names
from tests.agent.test_local_engine import Chat
from tests.fakes import NOW, MemoryStore
from tests.tools.test_order_actions import make_order


@pytest.fixture
async def shop(make_services: Any) -> tuple[Chat, MemoryStore]:
    store = MemoryStore(
        extra_orders=[
            make_order("#2002", OrderStatus.PAID, delivered_days=None),
            make_order("#2003", OrderStatus.SHIPPED, delivered_days=2),
        ]
    )
    services = await make_services(store=store, clock=lambda: NOW)
    return Chat(services), store


async def test_too_late_to_cancel_says_a_return_is_possible_once_it_arrives(
    shop: tuple[Chat, MemoryStore],
) -> None:
    chat, store = shop
    await chat.say("I want to cancel #2003")
    refused = await chat.say("ada@example.com")
    assert names(refused) == ["verify_customer", "cancel_order"]
    assert "too late to cancel" in refused.text
    assert "Once it arrives, you can return it instead" in refused.text
    assert store.orders["#2003"].status == OrderStatus.SHIPPED


async def test_address_change_on_a_shipped_order_is_refused_before_asking_the_address(
    shop: tuple[Chat, MemoryStore],
) -> None:
    chat, store = shop
    before = store.orders["#2003"]
    refused = await chat.say("can you ship order #2003 to my work address instead? ada@example.com")
    assert names(refused) == ["verify_customer", "get_order"]
    assert "already shipped" in refused.text and "too late" in refused.text
    assert "new shipping address" not in refused.text
    assert store.orders["#2003"] == before


async def test_address_change_on_an_unshipped_order_still_asks_the_address(
    shop: tuple[Chat, MemoryStore],
) -> None:
    chat, store = shop
    ask = await chat.say("can you ship order #2002 to my work address instead? ada@example.com")
    assert names(ask) == ["verify_customer", "get_order"]
    assert "new shipping address for order #2002" in ask.text
    summary = await chat.say("12 Oak Ave, Portland, OR 97201, US")
    assert names(summary) == ["change_shipping_address"]
    assert "Shall I go ahead?" in summary.text
    assert store.orders["#2002"].shipping_address.line1 != "12 Oak Ave"  # not before the yes


async def test_can_i_return_a_final_sale_item_of_an_order_is_refused_by_the_return_check(
    shop: tuple[Chat, MemoryStore],
) -> None:
    chat, store = shop
    # #1002 holds the trail runners (returnable) and the merino socks (final sale)
    refused = await chat.say("can I return Merino Sock? order #1002, ada@example.com")
    assert names(refused) == ["verify_customer", "check_return_eligibility"]
    assert "Merino Sock can't be returned" in refused.text and "final-sale" in refused.text
    assert "Trail Runner" not in refused.text  # not offered the other item in its place
    assert store.returns == []


async def test_item_change_on_a_shipped_order_is_refused_before_asking_what_to_change(
    shop: tuple[Chat, MemoryStore],
) -> None:
    chat, store = shop
    before = store.orders["#2003"]
    refused = await chat.say("can I change the quantity on order #2003? ada@example.com")
    assert names(refused) == ["verify_customer", "get_order"]
    assert "items of order #2003 can't be changed" in refused.text
    assert "already shipped" in refused.text
    assert "What would you like to change?" not in refused.text
    assert store.orders["#2003"] == before


async def test_item_change_on_an_unshipped_order_still_asks_what_to_change(
    shop: tuple[Chat, MemoryStore],
) -> None:
    chat, _ = shop
    ask = await chat.say("can I change the quantity on order #2002? ada@example.com")
    assert names(ask) == ["verify_customer", "get_order"]
    assert "What would you like to change?" in ask.text
