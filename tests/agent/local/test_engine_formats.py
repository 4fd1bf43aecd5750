"""The live engine reads order numbers in the store's own formats (issue #12): the runner's
store gives them to entity extraction, so a street number or a quantity that fits none of them
is never looked up as an order, and lettered numbers ("sh 10443", "a1b2c3") are read the
store's way. Asserted on what the store saw (lookups) and what it holds afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from agent.events import TurnResult
from tests.agent.test_local_engine import Chat
from tests.fakes import NOW, MemoryStore


def renumbered(numbers: dict[str, str]) -> MemoryStore:
    """The tiny store with its orders under other numbers (#1001 -> numbers['#1001'], ...)."""
    store = MemoryStore()
    store.orders = {
        numbers[old]: order.model_copy(update={"number": numbers[old]})
        for old, order in store.orders.items()
    }
    return store


PREFIXED = {"#1001": "SH-10441", "#1002": "SH-10442", "#1003": "SH-10443"}
MIXED = {"#1001": "A1B2C3", "#1002": "A4D5E6", "#1003": "A7F8G9"}
VERIFIED_AND_READ = [("verify_customer", True), ("get_order", True)]


def calls(result: TurnResult) -> list[tuple[str, dict[str, Any], bool]]:
    return [(t.name, t.args, t.ok) for t in result.tool_calls]


async def chat_over(make_services: Any, store: MemoryStore) -> Chat:
    return Chat(await make_services(store=store, clock=lambda: NOW))


async def test_prefixed_store_street_number_is_an_address(make_services: Any) -> None:
    store = renumbered(PREFIXED)
    chat = await chat_over(make_services, store)
    await chat.say("I need to change the shipping address on order sh 10443")
    asked = await chat.say("bob@example.com")
    assert "address" in asked.text
    proposal = await chat.say("123 Elm Street, Apt 4, Springfield, IL 62704")
    assert "123 Elm Street" in proposal.text and "#123" not in proposal.text
    assert store.orders["SH-10443"].shipping_address.line1 == "1 Main St"  # not before the yes
    await chat.say("yes please go ahead")
    address = store.orders["SH-10443"].shipping_address
    assert (address.line1, address.city, address.postal_code) == (
        "123 Elm Street",
        "Springfield",
        "62704",
    )
    assert not any("123" in n and "10443" not in n for n in store.lookups)
    # the other orders are untouched
    assert store.orders["SH-10441"].shipping_address.line1 == "1 Main St"


async def test_prefixed_store_a_number_of_another_shape_is_no_order(make_services: Any) -> None:
    store = renumbered(PREFIXED)
    chat = await chat_over(make_services, store)
    await chat.say("where is my order?")
    again = await chat.say("it's 123")
    assert not any(name == "verify_customer" for name, _, _ in calls(again))
    assert store.lookups == []
    found = await chat.say("SH-10442, ada@example.com")
    assert [(n, ok) for n, _, ok in calls(found)] == VERIFIED_AND_READ
    assert calls(found)[0][1]["order_number"] == "SH-10442"
    assert "SH-10442" in found.text


async def test_mixed_letters_and_digits_store(make_services: Any) -> None:
    store = renumbered(MIXED)
    chat = await chat_over(make_services, store)
    result = await chat.say("where is order a4d5e6? email ada@example.com")
    assert [(n, ok) for n, _, ok in calls(result)] == VERIFIED_AND_READ
    assert calls(result)[0][1]["order_number"] == "A4D5E6"
    assert "A4D5E6" in result.text


async def test_digits_store_street_number_is_never_the_order(make_services: Any) -> None:
    store = MemoryStore()
    chat = await chat_over(make_services, store)
    first = await chat.say(
        "please change the delivery address for order #1003 to 123 Elm Street, Springfield, "
        "IL 62704, my email is bob@example.com"
    )
    assert "123 Elm Street" in first.text and "#123" not in first.text
    await chat.say("yes")
    assert store.orders["#1003"].shipping_address.line1 == "123 Elm Street"
    assert all(n.lstrip("#") != "123" for n in store.lookups)


@pytest.mark.parametrize("text", ["order 123", "it's 123"])
async def test_digits_store_short_number_is_asked_again(make_services: Any, text: str) -> None:
    store = MemoryStore()
    chat = await chat_over(make_services, store)
    await chat.say("where is my order?")
    reply = await chat.say(text)
    assert reply.tool_calls == [] and store.lookups == []
    assert "order number" in reply.text
