"""Order changes through the whole runner with the offline engine: identity without the order
number, and the change flows, each turn asserted on the tools called and the store's state."""

from __future__ import annotations

from typing import Any

import pytest

from agent.events import TurnResult
from channels.summary import collect
from tests.fakes import MemoryStore


class Chat:
    def __init__(self, services: Any) -> None:
        self.services = services
        self.conversation_id: str | None = None

    async def say(self, text: str) -> TurnResult:
        result = await collect(
            self.services.runner.run_turn(
                text=text, channel="test", conversation_id=self.conversation_id
            )
        )
        self.conversation_id = result.conversation_id
        return result


def tools(result: TurnResult) -> list[tuple[str, bool]]:
    return [(t.name, t.ok) for t in result.tool_calls]


@pytest.fixture
async def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def chat(make_services: Any, store: MemoryStore) -> Chat:
    return Chat(await make_services(store=store))


async def test_verified_by_email_and_postcode_then_choose_the_order(chat: Chat) -> None:
    first = await chat.say("where is my order?")
    assert first.tool_calls == []
    second = await chat.say("I don't have the order number, it's ada@example.com and zip 97201")
    assert tools(second) == [("verify_customer", True)]
    assert "#1001" in second.text and "#1002" in second.text and "#1003" not in second.text
    third = await chat.say("#1002")
    assert tools(third) == [("get_order", True)]
    assert "Order #1002" in third.text


async def test_an_email_alone_asks_for_the_order_number_or_a_postcode(chat: Chat) -> None:
    await chat.say("where is my order?")
    second = await chat.say("ada@example.com")
    assert second.tool_calls == []
    assert "postal code" in second.text
    third = await chat.say("97201")
    assert tools(third) == [("verify_customer", True)]
    assert "#1001" in third.text


async def test_a_wrong_postcode_verifies_nothing(chat: Chat) -> None:
    await chat.say("where is my order?")
    reply = await chat.say("ada@example.com, zip 10001")
    assert tools(reply) == [("verify_customer", False)]
    assert "#1001" not in reply.text and "#1003" not in reply.text


@pytest.fixture
async def editing(make_services: Any) -> tuple[Chat, Any]:
    store = MemoryStore()
    return Chat(await make_services(store=store)), store


async def test_swap_a_size_before_shipping_through_the_engine(
    editing: tuple[Chat, Any],
) -> None:
    chat, store = editing
    first = await chat.say("I'd like to change the size of the trail runner on order #1003")
    assert "email address or postal code" in first.text
    second = await chat.say("bob@example.com")
    names = [t.name for t in second.tool_calls]
    # read as an edit, or as an exchange that becomes one because the order has not shipped
    assert names[0] == "verify_customer" and "get_order" in names, names
    assert "start_return" not in names
    if names[-1] != "change_order_items":  # the request named no new size: asked for it
        assert "What would you like to change?" in second.text
        second = await chat.say("the trail runner to size 43")
    assert "43 / Black" in second.text and "Shall I go ahead?" in second.text
    assert store.edits == []
    done = await chat.say("Yes, please go ahead.")
    assert "Done. Order #1003 now has" in done.text
    assert [(n, [e.new_sku for e in edits]) for n, edits in store.edits] == [
        ("#1003", ["TR-43-BLK"])
    ]


async def test_remove_an_item_through_the_engine(editing: tuple[Chat, Any]) -> None:
    chat, store = editing
    await chat.say("please remove the socks from my order #1003")
    reply = await chat.say("bob@example.com")
    assert "Remove 2 × Merino Sock (M)" in reply.text, reply.text
    assert "refunded to the original payment method" in reply.text
    await chat.say("ok yes")
    after = store.orders["#1003"]
    assert [i.name for i in after.line_items] == ["Trail Runner"]
