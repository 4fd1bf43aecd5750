"""A customer known without an order number (a signed storefront login, or their email and the
postcode of one of their orders) is offered their recent orders at the first order question,
instead of being asked to find the number (issue #12)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from agent.events import TurnResult
from channels.identify import sign
from commerce.models import OrderStatus
from settings import Settings
from storage import repo
from tests.agent.test_local_engine import Chat
from tests.channels.widget_client import say, widget_client
from tests.fakes import NOW, MemoryStore

SECRET = "widget-secret-for-order-choice"


def names(result: TurnResult) -> list[tuple[str, bool]]:
    return [(t.name, t.ok) for t in result.tool_calls]


async def logged_in(services: Any, customer_id: str) -> Chat:
    """A conversation bound to the customer before its first turn, as the widget's `identify`
    frame leaves it (channels/widget_frames.start_identified)."""
    async with services.sessions.begin() as session:
        conversation = await repo.create_conversation(session, channel="web")
        assert await repo.bind_customer(session, conversation.id, customer_id)
        conversation_id = conversation.id
    chat = Chat(services)
    chat.conversation_id = conversation_id
    return chat


async def test_logged_in_customer_chooses_from_their_orders(make_services: Any) -> None:
    store = MemoryStore()
    chat = await logged_in(await make_services(store=store, clock=lambda: NOW), "c1")
    listed = await chat.say("where is my order?")
    assert names(listed) == [("list_orders", True)]
    # Ada's two orders, and nothing of Bob's
    assert "#1001" in listed.text and "#1002" in listed.text and "#1003" not in listed.text
    assert "verify_customer" not in [t.name for t in listed.tool_calls]
    status = await chat.say("#1002")
    assert names(status) == [("get_order", True)]
    assert "Order #1002" in status.text
    assert store.lookups and all(n == "#1002" for n in store.lookups)


async def test_logged_in_customer_with_one_order_needs_no_choice(make_services: Any) -> None:
    store = MemoryStore()
    chat = await logged_in(await make_services(store=store, clock=lambda: NOW), "c2")
    result = await chat.say("I want to cancel my order")
    assert names(result) == [("list_orders", True), ("cancel_order", True)]
    assert "#1003" in result.text
    assert store.orders["#1003"].status is OrderStatus.PAID  # only proposed
    await chat.say("yes")
    assert store.orders["#1003"].status is OrderStatus.CANCELLED


async def test_logged_in_customer_with_no_orders(make_services: Any) -> None:
    store = MemoryStore()
    store.orders = {n: o for n, o in store.orders.items() if o.customer_id != "c2"}
    chat = await logged_in(await make_services(store=store, clock=lambda: NOW), "c2")
    result = await chat.say("where is my order?")
    assert names(result) == [("list_orders", True)]
    assert "can't find any orders" in result.text and "#100" not in result.text


async def test_email_and_postcode_list_the_orders(make_services: Any) -> None:
    store = MemoryStore()
    chat = Chat(await make_services(store=store, clock=lambda: NOW))
    await chat.say("where is my order?")
    listed = await chat.say("I don't have the number; ada@example.com, zip 97201")
    assert names(listed) == [("verify_customer", True)]
    assert "#1001" in listed.text and "#1002" in listed.text and "#1003" not in listed.text
    chosen = await chat.say("#1001")
    assert names(chosen) == [("get_order", True)]
    assert "1Z999AA10123456784" in chosen.text


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"widget_secret": SecretStr(SECRET)})
    with widget_client(configured, embedder, triager) as test_client:
        yield test_client


def test_signed_login_over_the_socket_lists_the_orders(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "identify", "token": sign(SECRET, "c1", int(time.time()))})
        assert ws.receive_json() == {"type": "identified", "first_name": "Ada"}
        frames = say(ws, "has my order shipped?", client_id="m1")
        tools = [f["tool"] for f in frames if f["type"] == "tool_status"]
        assert "list_orders" in tools and "verify_customer" not in tools
        assert "#1001" in frames[-1]["text"] and "#1002" in frames[-1]["text"]
        assert "#1003" not in frames[-1]["text"]
        chosen = say(ws, "the order #1001 please", client_id="m2")
        assert "1Z999AA10123456784" in chosen[-1]["text"]
