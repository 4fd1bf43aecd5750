"""bench/chaos.py for real, small: `serve --workers 2` on PostgreSQL and Redis, 10 scripted
conversations, 2 workers SIGKILLed while they run. Every durability check must pass and the
figures behind them must be real (messages acknowledged, escalations delivered to the sink,
staff replies received, returns written). Timings are never asserted."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import pytest

from bench.chaos import chaos, parser
from bench.chaos_checks import Check, run_checks
from bench.chaos_client import Ledger, Sent
from bench.chaos_scripts import plan, return_answer
from bench.chaos_sink import Delivery, WebhookSink
from tests.conftest import POSTGRES_ADMIN

pytestmark = pytest.mark.postgres


def test_ten_conversations_survive_two_worker_kills(tmp_path: Path) -> None:
    args = parser().parse_args(
        [
            "--conversations", "10", "--concurrency", "4",
            "--min-kills", "2", "--max-kills", "2", "--every", "1", "3", "--spread", "60",
            "--admin-url", POSTGRES_ADMIN,
            "--max-seconds", "600", "--drain-timeout", "300", "--log", str(tmp_path / "server.log"),
        ]
    )  # fmt: skip
    report = asyncio.run(chaos(args))
    failed = [c for c in report["checks"] if not c["ok"]]
    assert not failed, failed
    assert report["ok"]
    worker_kills = [k for k in report["kills"] if k["kind"] == "worker"]
    assert len(worker_kills) == 2
    assert all(k["restarted_s"] is not None for k in worker_kills)  # uvicorn replaced them
    assert report["kinds"] == {"status": 4, "return": 3, "escalation": 3}
    assert report["acked"] == report["customer_messages"] > 0
    assert report["returns_confirmed"] == 3
    assert sum(report["staff_replies"].values()) == 3
    assert report["sink_deliveries"] >= 3  # one ticket per escalation, at least once


def _ledger(**kwargs: object) -> Ledger:
    ledger = Ledger(index=0, kind="escalation", conversation_id="c1")
    for name, value in kwargs.items():
        setattr(ledger, name, value)
    return ledger


def _facts(**kwargs: object) -> dict[str, object]:
    facts: dict[str, object] = {
        "messages": {},
        "escalations": [],
        "staff": {},
        "outbox": {},
        "actions": [],
        "conversations": {"c1"},
    }
    facts.update(kwargs)
    return facts


def _failed(checks: list[Check]) -> set[str]:
    return {c.name for c in checks if not c.ok}


def _check(ledgers: list[Ledger], facts: dict[str, object], sink: WebhookSink) -> set[str]:
    return _failed(
        run_checks(
            ledgers, facts, (Counter(), Counter()), sink, kills=1, min_kills=1, not_restarted=0
        )
    )


def test_checks_fail_on_a_lost_message_a_lost_escalation_and_an_undelivered_ticket() -> None:
    sink = WebhookSink(secret="s" * 20)
    sent = Sent("k1", "I want to talk to a person", acked=True, completed=True)
    ledger = _ledger(messages=[sent], completed=True)
    failed = _check([ledger], _facts(escalations=[{"id": "e1", "conversation_id": "c1",
                                                   "status": "open"}]), sink)  # fmt: skip
    assert failed == {
        "acknowledged messages missing",
        "escalations never delivered to the helpdesk",
    }
    failed = _check([ledger], _facts(messages={("c1", "k1"): sent.text}), sink)
    assert failed == {"escalations lost"}


def test_checks_count_duplicate_deliveries_without_failing() -> None:
    sink = WebhookSink(secret="s" * 20)
    sink.deliveries = [
        Delivery("ticket:e1", "ticket.create", "e1", "c1", True, 0.0) for _ in range(3)
    ]
    sent = Sent("k1", "I want to talk to a person", acked=True, completed=True)
    facts = _facts(
        messages={("c1", "k1"): sent.text},
        escalations=[{"id": "e1", "conversation_id": "c1", "status": "claimed"}],
    )
    checks = run_checks(
        [_ledger(messages=[sent], completed=True)],
        facts,
        (Counter(), Counter()),
        sink,
        kills=1,
        min_kills=1,
        not_restarted=0,
    )
    duplicates = next(c for c in checks if c.name.startswith("duplicate deliveries"))
    assert (duplicates.value, duplicates.ok) == (2, True)
    assert not _failed(checks)


def test_plan_and_return_answers() -> None:
    assert plan(10, 99).count("return") == 3
    assert plan(10, 1).count("return") == 1  # no more returns than returnable orders
    order = {"email": "a@example.com", "items": [{"name": "Trail Sock"}]}
    rng = random.Random(1)
    assert return_answer("What's the email address or postal code on it?", order, rng) == (
        "a@example.com"
    )
    assert return_answer("Shall I go ahead? Please reply yes or no.", order, rng) == "yes"
    assert return_answer("Which item would you like to return?", order, rng) == "Trail Sock"
    assert return_answer("Something else entirely", order, rng) is None


async def test_sink_records_every_signed_delivery_with_its_key() -> None:
    """The real webhook connector against the sink: a redelivery of the same ticket is counted
    under its idempotency key, and the signature checks out."""
    import httpx

    from helpdesk.connectors.base import TicketPayload
    from helpdesk.connectors.webhook import WebhookConnector

    sink = WebhookSink(secret="chaos-sink-secret-0123")
    await sink.start()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            connector = WebhookConnector(client, url=sink.url, secret=sink.secret)
            ticket = TicketPayload(
                escalation_id="e1", conversation_id="c1", subject="s", summary="x", channel="web"
            )
            first = await connector.create_ticket(ticket, "ticket:e1")
            again = await connector.create_ticket(ticket, "ticket:e1")
    finally:
        await sink.stop()
    assert first.external_id == again.external_id == "T-ticket:e1"
    assert sink.by_key() == Counter({"ticket:e1": 2})
    assert [(d.event, d.escalation_id, d.signed) for d in sink.deliveries] == [
        ("ticket.create", "e1", True)
    ] * 2


async def test_a_process_accepts_once_its_loop_watches_the_listening_socket() -> None:
    """The killer's readiness test on this very process: a listening socket counts only once
    an event loop serves it."""
    import os
    import socket

    from bench.chaos_killer import accepting, listening_inodes

    with socket.socket() as raw:
        raw.bind(("127.0.0.1", 0))
        raw.listen()
        port = raw.getsockname()[1]
        assert listening_inodes(port) and not accepting(os.getpid(), listening_inodes(port))
    server = await asyncio.start_server(lambda _reader, writer: writer.close(), "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        assert accepting(os.getpid(), listening_inodes(port))
    finally:
        server.close()
        await server.wait_closed()
