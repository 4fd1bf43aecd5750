"""A long conversation does not forget who the customer is: the offline engine's dialogue state
and the verified customer live on the conversation row, not in the 60-message history window
(issue #9: after about 60 messages the engine no longer saw that the customer was verified)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agent.runner import HISTORY_WINDOW
from storage.tables import Conversation
from tests.agent.test_local_engine import Chat
from tests.fakes import MemoryStore


async def test_verification_survives_more_than_the_history_window(make_services: Any) -> None:
    services = await make_services(store=MemoryStore())
    chat = Chat(services)
    first = await chat.say("where is my order #1001? my email is ada@example.com")
    assert [t.name for t in first.tool_calls][:1] == ["verify_customer"]
    assert "Trail Runner" in first.text
    # small talk until the verify_customer exchange has left the window several times over
    for i in range(HISTORY_WINDOW):
        await chat.say("thanks" if i % 2 else "hello")
    later = await chat.say("where is my order #1001?")
    names = [t.name for t in later.tool_calls]
    assert "verify_customer" not in names, later.text
    assert "get_order" in names
    assert "Trail Runner" in later.text
    assert "email address or postal code" not in later.text
    async with services.sessions() as session:
        row = await session.scalar(
            select(Conversation).where(Conversation.id == chat.conversation_id)
        )
    assert row is not None and row.verified_customer_id is not None


async def test_engine_state_is_stored_on_the_conversation(make_services: Any) -> None:
    services = await make_services(store=MemoryStore())
    chat = Chat(services)
    await chat.say("I want to return something")
    async with services.sessions() as session:
        row = await session.scalar(
            select(Conversation).where(Conversation.id == chat.conversation_id)
        )
    assert row is not None and row.engine_state is not None
    assert row.engine_state["flow"] == "return_request"
    assert row.engine_state["awaiting"] is not None


def test_a_stored_state_from_another_version_still_loads() -> None:
    from agent.local.state import State

    state = State.load({"flow": "order_status", "awaiting": "order", "retired_field": 1})
    assert state.flow == "order_status" and state.awaiting == "order"
    assert State.load(None) == State()
