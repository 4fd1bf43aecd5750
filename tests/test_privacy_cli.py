"""`support-agent privacy export|erase|retention` through Typer's CliRunner, over the demo store
(the email is resolved to customer ids through it), on SQLite and, for erasure, PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli import app
from settings import Settings
from storage.engine import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.tables import AuditEntry, Conversation, Escalation, Message, PendingAction
from storage.tables_email import EmailRecord
from storage.tables_helpdesk import OutboxEntry
from storage.tables_notify import Notification, NotificationOptOut, OrderWatch
from storage.tables_security import RetentionRun
from storage.tables_widget import Attachment
from tests.storage.conftest import postgres_url  # noqa: F401 - the throw-away database fixture

runner = CliRunner()


@dataclass
class Shop:
    settings: Settings
    email: str  # customer A: two verified conversations
    customer: str
    other: str  # customer B: one conversation
    stranger: str = "stranger@example.com"  # mailed us (conversation m1), never verified

    def file(self, conversation_id: str) -> Path:
        """The seeded attachment file of this conversation."""
        return self.settings.data_dir / "attachments" / f"att-{conversation_id}.txt"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Shop:
    env = {
        "SUPPORT_ENV": "test",
        "SUPPORT_DATA_DIR": str(tmp_path / "data"),
        "SUPPORT_DEMO_CUSTOMERS": "10",
        "SUPPORT_DEMO_ORDERS": "25",
    }
    if request.param == "postgres":
        env["SUPPORT_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    return asyncio.run(_seed(settings))


async def _seed(settings: Settings) -> Shop:
    from commerce.demo.store import DemoStore, ensure_demo_store

    store = DemoStore.open(ensure_demo_store(settings))
    orders = await store.list_orders(limit=100)
    await store.close()
    owners = sorted({(o.customer_id, o.email) for o in orders})
    (a, email), (b, _) = owners[0], owners[1]
    engine = make_engine(settings.sqlalchemy_url)
    await upgrade(engine)
    old = datetime.now(UTC) - timedelta(days=400)
    async with make_sessionmaker(engine).begin() as session:
        for cid, customer, at in (
            ("a1", a, None),
            ("a2", a, None),
            ("b1", b, None),
            ("anon", None, None),
            ("old", None, old),
            ("m1", None, None),
        ):
            extra = {"created_at": at, "updated_at": at} if at else {}
            session.add(
                Conversation(id=cid, channel="widget", verified_customer_id=customer, **extra)
            )
            await session.flush()
            session.add(
                Message(
                    conversation_id=cid,
                    seq=1,
                    role="customer",
                    text=f"hello from {cid}, I'm {email if customer == a else 'someone'}",
                    **({"created_at": at} if at else {}),
                )
            )
        session.add_all(
            [
                PendingAction(
                    conversation_id="a1",
                    customer_id=a,
                    kind="address_change",
                    order_number="#1001",
                    args={"address": {"line1": "12 Elm Street"}},
                    summary="Ship order #1001 to 12 Elm Street instead.",
                    needs_approval=False,
                    idempotency_key="k1",
                    status="executed",
                    expires_at=datetime.now(UTC),
                ),
                Escalation(id="e-a1", conversation_id="a1", reason="customer_request",
                           summary="wants a person", customer_id=a),
                OutboxEntry(
                    kind="ticket.create",
                    target="builtin",
                    payload={
                        "escalation_id": "e-a1",
                        "conversation_id": "a1",
                        "requester_email": email,
                    },
                    idempotency_key="ticket:e-a1",
                ),
                AuditEntry(conversation_id="a1", actor=f"customer:{a}", tool="get_order",
                           kind="read", args={"order_number": "#1001"}, ok=True, decision="ok",
                           result=json.dumps({"status": "paid", "ship_to_city": "Portland"})),
                AuditEntry(conversation_id="b1", actor=f"customer:{b}", tool="get_order",
                           kind="read", args={"order_number": "#1002"}, ok=True, decision="ok",
                           result=json.dumps({"status": "paid"})),
            ]
        )  # fmt: skip
        # an email conversation of a sender who never verified, and one attachment file each
        session.add(
            EmailRecord(message_id="<m1@example.com>", direction="in", conversation_id="m1",
                        address="stranger@example.com", subject="Broken mug")
        )  # fmt: skip
        for cid in ("a1", "b1", "m1"):
            relative = f"attachments/att-{cid}.txt"
            target = settings.data_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"attachment of {cid}")
            session.add(
                Attachment(id=f"att-{cid}", conversation_id=cid, content_type="text/plain",
                           size=16, sha256="0" * 64, path=relative)
            )  # fmt: skip
        await _seed_notices(session, orders, a, b)
    await engine.dispose()
    return Shop(settings=settings, email=email, customer=a, other=b)


async def _seed_notices(session: Any, orders: list[Any], a: str, b: str) -> None:
    """Order notices: A's shipped notice in a1 (its email's outbox row and an SMS one), a scan
    of the same order never told, a notice of A's other order skipped because A opted out, the
    poller's snapshots; B's notice in b1. A's opt-out digest is kept on purpose."""
    mine = sorted(o.number for o in orders if o.customer_id == a)
    theirs = sorted(o.number for o in orders if o.customer_id == b)
    now = datetime.now(UTC)

    def notice(number: str, event: str, status: str, **extra: Any) -> Notification:
        return Notification(order_number=number, event=event, news="s1", source="poll",
                            occurred_at=now, status=status, not_before=now, **extra)  # fmt: skip

    told = notice(mine[0], "shipped", "sent", conversation_id="a1", email_hash="h" * 64,
                  message_id="<notify-1@shop.test>", reason="", channels=["email", "sms"],
                  sent_at=now)  # fmt: skip
    session.add_all(
        [
            told,
            notice(mine[0], "in_transit", "skipped", reason="rule_off"),
            notice(mine[-1], "shipped", "skipped", reason="opted_out", email_hash="h" * 64),
            notice(theirs[0], "shipped", "sent", conversation_id="b1", email_hash="b" * 64),
            OrderWatch(order_number=mine[0], state={"shipments": {}}),
            OrderWatch(order_number=mine[-1], state={"shipments": {}}),
            OrderWatch(order_number=theirs[0], state={"shipments": {}}),
            NotificationOptOut(email_hash="h" * 64, source="link"),
        ]
    )
    await session.flush()
    session.add(
        OutboxEntry(kind="sms.send", target="sms", idempotency_key=f"sms:{told.id}",
                    payload={"to": "+1 212-555-0101", "notification_id": told.id,
                             "order": mine[0], "event": "shipped", "text": "on its way"})
    )  # fmt: skip


async def _rows(settings: Settings, table: Any, *where: Any) -> list[Any]:
    engine = make_engine(settings.sqlalchemy_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return list((await session.scalars(select(table).where(*where))).all())
    finally:
        await engine.dispose()


def rows(shop: Shop, table: Any, *where: Any) -> list[Any]:
    return asyncio.run(_rows(shop.settings, table, *where))


def _invoke(*args: str, **kwargs: Any) -> Any:
    return runner.invoke(app, list(args), **kwargs)


def test_export_holds_everything_about_the_customer_and_nobody_else(
    shop: Shop, tmp_path: Path
) -> None:
    result = _invoke("privacy", "export", shop.email.upper())
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["customer_ids"] == [shop.customer]
    assert [c["id"] for c in data["conversations"]] == ["a1", "a2"]
    first = data["conversations"][0]
    assert first["verified_customer_id"] == shop.customer
    assert [m["text"] for m in first["messages"]] == [f"hello from a1, I'm {shop.email}"]
    assert first["pending_actions"][0]["args"] == {"address": {"line1": "12 Elm Street"}}
    assert [e["id"] for e in first["escalations"]] == ["e-a1"]
    assert [(a["conversation_id"], a["tool"]) for a in data["audit"]] == [("a1", "get_order")]
    assert shop.other not in result.stdout and "b1" not in [c["id"] for c in data["conversations"]]
    # A's notices: the one told in a1, the scan of that order, the one skipped as opted out
    # (found by the address digest); B's is not there. A opted out by the link.
    notices = [(n["event"], n["status"], n["reason"]) for n in data["notifications"]]
    assert notices == [
        ("shipped", "sent", ""),
        ("in_transit", "skipped", "rule_off"),
        ("shipped", "skipped", "opted_out"),
    ]
    told = data["notifications"][0]
    assert set(told) == {"order", "event", "channel", "status", "reason", "sent_at"}
    assert (told["channel"], told["sent_at"] is not None) == ("email,sms", True)
    assert [(o["email_hash"], o["source"]) for o in data["notification_optouts"]] == [
        ("h" * 64, "link")
    ]

    out = tmp_path / "export.json"
    written = _invoke("privacy", "export", shop.email, "--output", str(out))
    assert written.exit_code == 0 and json.loads(out.read_text())["customer_ids"] == [shop.customer]

    missing = _invoke("privacy", "export", "nobody@example.com")
    assert missing.exit_code == 1 and "no customer" in missing.output


def test_export_shows_an_opt_out_made_before_any_notice(shop: Shop) -> None:
    """B never opted out by a link; staff opt B out by address: the export finds it by the
    address's digest, not through a notice."""
    other = asyncio.run(_email_of(shop.settings, shop.other))
    before = json.loads(_invoke("privacy", "export", other).stdout)
    assert before["notification_optouts"] == []
    assert [n["status"] for n in before["notifications"]] == ["sent"]
    assert _invoke("notify", "opt-out", other).exit_code == 0
    after = json.loads(_invoke("privacy", "export", other).stdout)
    assert [o["source"] for o in after["notification_optouts"]] == ["staff"]
    assert after["notifications"] == before["notifications"]


async def _email_of(settings: Settings, customer_id: str) -> str:
    from commerce.demo.store import DemoStore, ensure_demo_store

    store = DemoStore.open(ensure_demo_store(settings))
    try:
        return (await store.list_orders(customer_id=customer_id, limit=1))[0].email
    finally:
        await store.close()


def test_erase_deletes_the_customers_conversations_and_anonymises_the_audit(shop: Shop) -> None:
    refused = _invoke("privacy", "erase", shop.email, input="n\n")
    assert refused.exit_code == 1 and "would erase" in refused.output
    assert "conversations: 2" in refused.output
    assert {c.id for c in rows(shop, Conversation)} == {"a1", "a2", "b1", "anon", "old", "m1"}
    assert shop.file("a1").is_file()  # the preview removed no file

    result = _invoke("privacy", "erase", shop.email, "--yes", "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert counts == {
        "customer_ids": [shop.customer],
        "conversations": 2,
        "messages": 2,
        "pending_actions": 1,
        "escalations": 1,
        "outbox": 2,  # the ticket, and the SMS of the shipped notice
        "attachments": 1,
        "email_messages": 0,
        "notifications": 3,
        "notification_order_state": 2,
        "audit_anonymised": 1,
        "helpdesk_tickets": [],
    }
    assert {c.id for c in rows(shop, Conversation)} == {"b1", "anon", "old", "m1"}
    assert {m.conversation_id for m in rows(shop, Message)} == {"b1", "anon", "old", "m1"}
    assert {a.id for a in rows(shop, Attachment)} == {"att-b1", "att-m1"}
    assert not shop.file("a1").exists() and shop.file("b1").is_file()
    assert rows(shop, PendingAction) == [] and rows(shop, Escalation) == []
    assert rows(shop, OutboxEntry) == []
    # no notice, snapshot or text of A's orders is left; B's stay; A's opt-out digest stays
    assert [n.conversation_id for n in rows(shop, Notification)] == ["b1"]
    (kept_order,) = {n.order_number for n in rows(shop, Notification)}
    assert [w.order_number for w in rows(shop, OrderWatch)] == [kept_order]
    assert [o.email_hash for o in rows(shop, NotificationOptOut)] == ["h" * 64]
    audit = {a.conversation_id: a for a in rows(shop, AuditEntry)}
    erased, kept = audit["a1"], audit["b1"]
    assert (erased.tool, erased.ok, erased.actor, erased.args) == (
        "get_order",
        True,
        "customer",
        {},
    )
    assert json.loads(erased.result) == {"anonymised": True, "status": "paid"}
    assert kept.actor == f"customer:{shop.other}" and kept.args == {"order_number": "#1002"}

    again = json.loads(_invoke("privacy", "erase", shop.email, "--yes", "--json").stdout)
    assert again["conversations"] == 0 and again["audit_anonymised"] == 0
    export = json.loads(_invoke("privacy", "export", shop.email).stdout)
    assert export["conversations"] == [] and export["audit"] == []


def test_erase_finds_an_email_sender_who_never_verified_by_their_address(shop: Shop) -> None:
    exported = json.loads(_invoke("privacy", "export", shop.stranger).stdout)
    assert [c["id"] for c in exported["conversations"]] == ["m1"]
    result = _invoke("privacy", "erase", shop.stranger.upper(), "--yes", "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert (counts["customer_ids"], counts["conversations"], counts["messages"]) == ([], 1, 1)
    assert (counts["attachments"], counts["email_messages"]) == (1, 1)
    assert "m1" not in {c.id for c in rows(shop, Conversation)}
    assert rows(shop, EmailRecord) == []
    assert {a.id for a in rows(shop, Attachment)} == {"att-a1", "att-b1"}
    assert not shop.file("m1").exists() and shop.file("a1").is_file()
    gone = _invoke("privacy", "erase", shop.stranger, "--yes", "--json")
    assert gone.exit_code == 1 and "no customer" in gone.output


@pytest.mark.parametrize("shop", ["sqlite"], indirect=True)
def test_retention_once_from_the_command_line(shop: Shop) -> None:
    dry = _invoke("privacy", "retention", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    counts = json.loads(dry.stdout)
    assert counts["dry_run"] is True and counts["conversations"] == 1 and counts["messages"] == 1
    assert "old" in {c.id for c in rows(shop, Conversation)} and rows(shop, RetentionRun) == []

    done = _invoke("privacy", "retention")
    assert done.exit_code == 0 and "conversations: 1" in done.output
    assert {c.id for c in rows(shop, Conversation)} == {"a1", "a2", "b1", "anon", "m1"}
    [run] = rows(shop, RetentionRun)
    assert run.counts["conversations"] == 1 and run.finished_at is not None

    kept = json.loads(_invoke("privacy", "retention", "--days", "0", "--json").stdout)
    assert kept["cutoff"].startswith("1970") and "conversations" not in kept
    assert len(rows(shop, Conversation)) == 5 and len(rows(shop, Message)) == 5
    assert len(rows(shop, RetentionRun)) == 2
