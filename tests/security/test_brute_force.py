"""Verification brute force against the generated demo store, through the real chat path (the
runner with the offline engine, or the WebSocket server), as an attacker would run it.

Before the fix the lock-out counted failures per conversation, so a new conversation reset it:
guessing postal codes for one order, or walking order numbers with a victim's email, found the
customer's orders. Attackers here rotate client IPs on purpose, so the per-order and per-email
counts must hold on their own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from channels.summary import collect
from commerce.demo.store import DemoStore, ensure_demo_store
from commerce.models import Order, OrderStatus
from server import create_app
from services import build_services
from settings import Settings
from storage.tables import AuditEntry, Escalation
from tests.fakes import CannedKnowledge
from tools.identity import NOT_VERIFIED

LIMIT = 5  # verify_failure_limit (the default)


@dataclass(frozen=True)
class Demo:
    path: Path
    shipped: list[Order]  # shipped orders with a US ZIP: the attack reads tracking numbers
    emails: dict[str, set[str]]  # order numbers by email


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    data = tmp_path_factory.mktemp("brute-force-demo")
    path = ensure_demo_store(Settings(env="test", data_dir=data, demo=True))

    async def load() -> list[Order]:
        store = DemoStore.open(path)
        try:
            return await store.list_orders(limit=5000)
        finally:
            await store.close()

    orders = asyncio.run(load())
    emails: dict[str, set[str]] = {}
    for order in orders:
        emails.setdefault(order.email, set()).add(order.number)
    shipped = [
        o
        for o in orders
        if o.status == OrderStatus.SHIPPED and o.postal_code.isdigit() and len(o.postal_code) == 5
    ]
    return Demo(path, shipped, emails)


def brute_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"env": "test", "data_dir": tmp_path / "data", "demo": False}
    return Settings(**{**values, **overrides})


@pytest.fixture
def demo_services(
    make_services: Callable[..., Any], demo: Demo, tmp_path: Path
) -> Callable[..., Any]:
    async def make(**overrides: Any) -> Any:
        return await make_services(
            settings=brute_settings(tmp_path, **overrides),
            store=DemoStore.open(demo.path),
            knowledge=CannedKnowledge(),
        )

    return make


async def say(services: Any, text: str, *, ip: str, conversation_id: str | None = None) -> Any:
    return await collect(
        services.runner.run_turn(
            text=text, channel="web", conversation_id=conversation_id, client_ip=ip
        )
    )


def verified(result: Any) -> bool:
    return any(c.name == "verify_customer" and c.ok for c in result.tool_calls)


def tried(result: Any) -> int:
    return sum(c.name == "verify_customer" for c in result.tool_calls)


def leaked(order: Order, text: str) -> bool:
    tracking = [s.tracking_number for s in order.shipments if s.tracking_number]
    return any(t in text for t in tracking) or order.line_items[0].name in text


async def test_guessing_postal_codes_across_conversations_finds_nothing(
    demo_services: Callable[..., Any], demo: Demo
) -> None:
    services = await demo_services()
    victim = demo.shipped[0]
    guesses = [f"{(int(victim.postal_code) + 7919 * i) % 100000:05d}" for i in range(1, 61)]
    guesses = [g for g in guesses if g != victim.postal_code][:40]
    guesses.insert(27, victim.postal_code)  # the right code comes well after the limit
    attempts = successes = 0
    replies: set[str] = set()
    for n in range(0, len(guesses), 5):  # a new conversation (and a new IP) every 5 tries
        ip, conversation_id = f"198.51.100.{n // 5 + 1}", None
        for i, guess in enumerate(guesses[n : n + 5]):
            text = f"where is my order {victim.number}? zip {guess}" if i == 0 else f"zip {guess}"
            result = await say(services, text, ip=ip, conversation_id=conversation_id)
            conversation_id = result.conversation_id
            attempts += tried(result)
            successes += verified(result)
            assert not leaked(victim, result.text)
            replies.add(result.text)
    assert attempts == len(guesses) == 41  # every guess reached verify_customer
    assert successes == 0
    assert len(replies) == 1 and NOT_VERIFIED in replies.pop()  # locked reads as wrong


async def test_walking_order_numbers_with_a_victims_email_finds_nothing(
    demo_services: Callable[..., Any], demo: Demo
) -> None:
    services = await demo_services()
    victim = demo.shipped[3]
    number = int(victim.number.lstrip("#"))
    assert number > 1040
    attempts = successes = 0
    candidates = [f"#{n}" for n in range(number - 30, number + 6)]
    assert victim.number in demo.emails[victim.email]
    for n in range(0, len(candidates), 5):
        ip, conversation_id = f"203.0.113.{n // 5 + 1}", None
        for candidate in candidates[n : n + 5]:
            text = f"order {candidate} email {victim.email}"
            result = await say(services, text, ip=ip, conversation_id=conversation_id)
            conversation_id = result.conversation_id
            attempts += tried(result)
            successes += verified(result)
            assert not leaked(victim, result.text)
    assert attempts == len(candidates) == 36
    assert successes == 0


async def test_a_locked_order_refuses_the_right_details_in_the_words_of_wrong_ones(
    demo_services: Callable[..., Any], demo: Demo
) -> None:
    services = await demo_services()
    victim, bystander = demo.shipped[1], demo.shipped[2]
    for i in range(LIMIT):  # the attacker, from five places
        await say(services, f"order {victim.number} zip 0000{i}", ip=f"192.0.2.{i + 10}")
    right = await say(services, f"order {victim.number} email {victim.email}", ip="192.0.2.99")
    wrong = await say(
        services, f"order {bystander.number} email someone@example.org", ip="192.0.2.98"
    )
    assert not verified(right) and not leaked(victim, right.text)
    assert right.text == wrong.text
    # the bystander's own lock is untouched by one failure: they still get in
    ok = await say(
        services, f"order {bystander.number} zip {bystander.postal_code}", ip="192.0.2.97"
    )
    assert verified(ok)
    engine = create_engine(f"sqlite:///{services.settings.data_dir / 'support.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.conversation_id, AuditEntry.decision, AuditEntry.result).where(
                AuditEntry.tool == "verify_customer",
                AuditEntry.conversation_id.in_([right.conversation_id, wrong.conversation_id]),
            )
        ).all()
    engine.dispose()
    # the audit trail cannot tell a lock from wrong details either
    assert len(rows) == 2 and len({(r.decision, r.result) for r in rows}) == 1


async def test_one_client_ip_is_locked_across_orders(
    demo_services: Callable[..., Any], demo: Demo
) -> None:
    services = await demo_services()
    orders = [demo.shipped[i] for i in range(4, 4 + LIMIT + 1)]
    for order in orders[:LIMIT]:
        await say(services, f"order {order.number} zip 00000", ip="2001:db8:7::1")
    last = orders[LIMIT]
    # the right details from another address in the same IPv6 /64: still the same client
    refused = await say(
        services, f"order {last.number} zip {last.postal_code}", ip="2001:db8:7::beef"
    )
    assert not verified(refused) and NOT_VERIFIED in refused.text
    elsewhere = await say(services, f"order {last.number} zip {last.postal_code}", ip="192.0.2.5")
    assert verified(elsewhere)


@pytest.fixture
def alert_client(tmp_path: Path, demo: Demo, embedder: Any, triager: Any) -> Iterator[Any]:
    settings = brute_settings(tmp_path, verify_alert_threshold=6)

    async def build() -> Any:
        return await build_services(
            settings,
            embedder=embedder,
            triager=triager,
            store=DemoStore.open(demo.path),
            knowledge=CannedKnowledge(),
        )

    with TestClient(create_app(settings, build=build), client=("198.51.100.77", 4000)) as client:
        yield client, settings


def escalations(settings: Settings) -> list[Any]:
    engine = create_engine(f"sqlite:///{settings.data_dir / 'support.db'}")
    with engine.connect() as conn:
        rows = list(conn.execute(select(Escalation)))
    engine.dispose()
    return rows


def socket_turn(ws: Any, text: str) -> dict[str, Any]:
    ws.send_text(json.dumps({"type": "message", "text": text}))
    while True:
        frame = ws.receive_json()
        if frame["type"] in ("message", "error"):
            return dict(frame)


def test_a_wave_of_failures_raises_one_staff_alert(alert_client: Any, demo: Demo) -> None:
    client, settings = alert_client
    orders = [demo.shipped[i] for i in range(12)]
    for batch in (orders[0:5], orders[5:10], orders[10:12]):  # 12 failures over 3 sockets
        with client.websocket_connect("/ws/chat") as ws:
            for order in batch:
                frame = socket_turn(ws, f"order {order.number} zip 00000")
                assert frame["type"] == "message" and NOT_VERIFIED in frame["text"]
    alerts = [e for e in escalations(settings) if e.kind == "alert"]
    assert len(alerts) == 1  # 7 failures were over the threshold of 6: one alert, no flood
    alert = alerts[0]
    assert alert.conversation_id is None and alert.reason == "verification_failures"
    assert alert.status == "open" and alert.priority == "urgent"
    assert alert.details["failures"] == 7 and alert.details["threshold"] == 6
    token = settings.staff_token.get_secret_value()
    headers = {"Authorization": f"Bearer {token}"}
    queue = client.get("/api/staff/queue", headers=headers)
    assert queue.status_code == 200
    items = [i for i in queue.json() if i["kind"] == "alert"]
    assert len(items) == 1 and items[0]["id"] == alert.id and items[0]["conversation_id"] is None
    assert "failed customer verifications" in items[0]["summary"]
    closed = client.post(f"/api/staff/alerts/{alert.id}/close", headers=headers)
    assert closed.status_code == 200
    after = client.get("/api/staff/queue", headers=headers).json()
    assert not [i for i in after if i["kind"] == "alert"]
