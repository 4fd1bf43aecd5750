"""The acceptance path against the real product: the generated demo store, the demo help center
and the offline engine behind a real uvicorn server, driven over a real WebSocket; and the
`support-agent ask --json` contract."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner
from websockets.sync.client import connect

from commerce.demo.store import DemoStore
from commerce.models import Order, OrderStatus
from settings import Settings
from storage.tables import Conversation, Escalation


def demo_order(settings: Settings, status: OrderStatus) -> Order:
    async def find() -> Order:
        store = DemoStore.open(settings.demo_store_path)
        try:
            return (await store.list_orders(status=status, limit=1))[0]
        finally:
            await store.close()

    return asyncio.run(find())


def turn(ws: Any, text: str) -> list[dict[str, Any]]:
    ws.send(json.dumps({"type": "message", "text": text}))
    frames = []
    while True:
        frame = json.loads(ws.recv(timeout=60))
        frames.append(frame)
        if frame["type"] in ("message", "error"):
            return frames


def db_rows(settings: Settings, model: Any, **where: Any) -> list[Any]:
    engine = create_engine(f"sqlite:///{settings.data_dir / 'support.db'}")
    with engine.connect() as conn:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        rows = list(conn.execute(query))
    engine.dispose()
    return rows


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws/chat"


def test_storefront_and_widget_are_served(live_server: str) -> None:
    page = httpx.get(live_server + "/")
    assert page.status_code == 200 and '<script src="/widget.js"' in page.text
    script = httpx.get(live_server + "/widget.js")
    assert script.status_code == 200 and "customElements.define" in script.text
    assert httpx.get(live_server + "/readyz").json()["ready"] is True


def test_where_is_my_order_end_to_end(live_server: str, live_settings: Settings) -> None:
    order = demo_order(live_settings, OrderStatus.SHIPPED)
    shipment = order.shipments[0]
    with connect(ws_url(live_server)) as ws:
        ask = turn(ws, "where is my order?")
        assert "order number" in ask[-1]["text"]
        conversation_id = ask[-1]["conversation_id"]
        wrong = turn(ws, f"it's {order.number}, email nobody@nowhere.example")
        assert "couldn't verify" in wrong[-1]["text"]
        assert shipment.tracking_number not in wrong[-1]["text"]
        assert order.line_items[0].name not in wrong[-1]["text"]
        answer = turn(ws, order.email)
        text = answer[-1]["text"]
    assert f"Order {order.number}" in text and "has shipped" in text
    assert shipment.carrier in text and shipment.tracking_number in text
    for item in order.line_items:
        assert item.name in text
    conversation = db_rows(live_settings, Conversation, id=conversation_id)[0]
    assert conversation.verified_customer_id == order.customer_id


def test_delivered_order_in_one_message_by_postal_code(
    live_server: str, live_settings: Settings
) -> None:
    order = demo_order(live_settings, OrderStatus.DELIVERED)
    assert order.delivered_at is not None
    with connect(ws_url(live_server)) as ws:
        frames = turn(ws, f"Where is order {order.number}? postal code {order.postal_code}")
    text = frames[-1]["text"]
    day = order.delivered_at
    assert "was delivered on" in text and f"{day.strftime('%B')} {day.day}, {day.year}" in text


def test_return_policy_and_human_handoff(live_server: str, live_settings: Settings) -> None:
    with connect(ws_url(live_server)) as ws:
        policy = turn(ws, "What is your return policy?")
        final = policy[-1]
        assert "30 days" in final["text"] and "Source:" in final["text"]
        assert final["citations"] and final["citations"][0]["id"].startswith("returns")
        handoff = turn(ws, "I want to talk to a person")
        escalated = [f for f in handoff if f["type"] == "escalated"]
        assert escalated and handoff[-1]["owner"] == "queued"
        assert "support team" in handoff[-1]["text"]
    rows = db_rows(live_settings, Escalation, id=escalated[0]["escalation_id"])
    assert len(rows) == 1 and rows[0].reason == "customer_request"


@pytest.fixture
def cli_env(live_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(live_settings.data_dir))
    return live_settings.data_dir


@pytest.mark.usefixtures("live_server", "cli_env")
def test_ask_json_contract(tmp_path: Path, live_settings: Settings) -> None:
    from cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["ask", "What is your return policy?", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(data) == {
        "conversation_id",
        "reply",
        "citations",
        "tool_calls",
        "owner",
        "escalation",
    }
    assert data["owner"] == "bot" and data["escalation"] is None
    assert all(set(c) == {"id", "title"} for c in data["citations"]) and data["citations"]
    assert data["tool_calls"] == [
        {"name": "search_help_center", "args": {"query": "What is your return policy?"}, "ok": True}
    ]

    follow = runner.invoke(
        app, ["ask", "I want a human", "--conversation", data["conversation_id"], "--json"]
    )
    handed = json.loads(follow.stdout.strip().splitlines()[-1])
    assert handed["conversation_id"] == data["conversation_id"]
    assert handed["owner"] == "queued" and set(handed["escalation"]) == {"id", "reason"}

    order = demo_order(live_settings, OrderStatus.PAID)
    lines = tmp_path / "messages.txt"
    lines.write_text(f"hello\nwhere is order {order.number}? {order.email}\ntalk to a human\n")
    batch = runner.invoke(app, ["ask", "--file", str(lines), "--json"])
    assert batch.exit_code == 0, batch.output
    outputs = [json.loads(line) for line in batch.stdout.strip().splitlines()]
    assert len(outputs) == 3 and len({o["conversation_id"] for o in outputs}) == 3
    assert [t["name"] for t in outputs[1]["tool_calls"]] == ["verify_customer", "get_order"]
    assert "being prepared" in outputs[1]["reply"]
    assert outputs[2]["escalation"]["reason"] == "customer_request"

    too_long = runner.invoke(app, ["ask", "x" * 4001, "--json"])
    assert too_long.exit_code == 1
    assert json.loads(too_long.stdout)["error"]["code"] == "message_too_long"


def returnable_order(settings: Settings) -> Order:
    from datetime import UTC, datetime, timedelta

    async def find() -> Order:
        store = DemoStore.open(settings.demo_store_path)
        try:
            recent = datetime.now(UTC) - timedelta(days=20)
            for order in await store.list_orders(status=OrderStatus.DELIVERED, limit=300):
                fresh = order.delivered_at is not None and order.delivered_at > recent
                items = [
                    i
                    for i in order.line_items
                    if not i.final_sale
                    and i.returned_quantity == 0
                    and i.unit_price < 200
                    and i.category != "gift cards"
                ]
                if fresh and items and all(i.unit_price * i.quantity < 200 for i in items):
                    return order
            raise AssertionError("the demo store has no fresh returnable order")
        finally:
            await store.close()

    return asyncio.run(find())


def test_return_over_the_socket_against_the_demo_store(
    live_server: str, live_settings: Settings
) -> None:
    order = returnable_order(live_settings)
    with connect(ws_url(live_server)) as ws:
        reply = turn(ws, f"I want to return something from order {order.number}, {order.email}")
        for _ in range(6):
            text = reply[-1]["text"]
            if "Shall I go ahead" in text:
                break
            if "Which item" in text:
                item = next(i for i in order.line_items if i.name in text)
                reply = turn(ws, f"the {item.name}")
            elif "reason" in text:
                reply = turn(ws, "it doesn't fit")
            elif "store credit" in text:
                reply = turn(ws, "a refund please")
            else:
                raise AssertionError(f"unexpected question: {text}")
        assert "Shall I go ahead" in reply[-1]["text"], reply[-1]["text"]
        done = turn(ws, "yes")
    assert "RMA-" in done[-1]["text"]

    async def returns() -> list[Any]:
        store = DemoStore.open(live_settings.demo_store_path)
        try:
            return await store.list_returns(order_number=order.number)
        finally:
            await store.close()

    stored = asyncio.run(returns())
    assert len(stored) == 1 and stored[0].rma in done[-1]["text"]
    assert stored[0].reason == "wrong_size"
