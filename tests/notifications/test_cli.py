"""End to end through the command line: `store import`, `store advance`, `notify run --json`
(`--now` pins the hour: quiet hours and the daily cap depend on it), `notify opt-out`, then the
outbox delivers to the SMTP sink. A demo order moved shipped -> in_transit ->
out_for_delivery -> delivered sends three emails, each once; a dry run writes no row."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from settings import Settings
from storage.tables import Conversation, Message
from storage.tables_email import EmailRecord
from storage.tables_helpdesk import OutboxEntry
from storage.tables_notify import Notification, NotificationOptOut, OrderWatch
from tests.conftest import count_rows, run_sync
from tests.notifications.conftest import SmtpSink, store_document

FIELDS = {"order", "event", "channel", "email", "template", "conversation_id"}
TABLES = (
    Notification,
    NotificationOptOut,
    OrderWatch,
    OutboxEntry,
    EmailRecord,
    Message,
    Conversation,
)


def _at(days: int, hour: int) -> str:
    """`days` after today, at `hour` in New York (the business time zone), as ISO UTC."""
    tz = ZoneInfo("America/New_York")
    today = datetime.now(tz).date() + timedelta(days=days)
    local = datetime(today.year, today.month, today.day, hour, tzinfo=tz)
    return local.astimezone(UTC).isoformat()


@pytest.fixture
def cli_env(notify_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    values = {
        "SUPPORT_ENV": "test",
        "SUPPORT_DEMO": "false",
        "SUPPORT_DATA_DIR": str(notify_settings.data_dir),
        "SUPPORT_EMAIL_ADDRESS": notify_settings.email_address,
        "SUPPORT_SMTP_HOST": "127.0.0.1",
        "SUPPORT_SMTP_PORT": str(notify_settings.smtp_port),
        "SUPPORT_SMTP_SECURITY": "none",
        "SUPPORT_PUBLIC_URL": "https://help.shop.test",
    }
    if notify_settings.database_url:
        values["SUPPORT_DATABASE_URL"] = notify_settings.database_url
    for key, value in values.items():
        monkeypatch.setenv(key, str(value))
    source = tmp_path / "store.json"
    source.write_text(json.dumps(store_document()), encoding="utf-8")
    from cli import app

    result = CliRunner().invoke(app, ["store", "import", str(source)])
    assert result.exit_code == 0, result.output
    return notify_settings


def cli(*args: str) -> Any:
    from cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def notices(*args: str) -> list[dict[str, Any]]:
    result = cli("notify", "run", "--json", *args)
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert all(set(line) == FIELDS for line in lines)
    return lines


def deliver(settings: Settings) -> int:
    """What `serve` does with the rows `notify run` left: the outbox worker, SMTP to the sink
    (its clock after the last `--now`: the rows are due from the hour they were queued)."""
    later = datetime.fromisoformat(_at(6, 10))

    async def go() -> int:
        from channels.email.outbound import EMAIL_SEND, SmtpSender
        from helpdesk.outbox import OutboxWorker
        from storage.engine import make_engine, make_sessionmaker

        engine = make_engine(settings.sqlalchemy_url)
        try:
            worker = OutboxWorker(
                make_sessionmaker(engine),
                {},
                senders={EMAIL_SEND: SmtpSender(settings)},
                clock=lambda: later,
            )
            total = 0
            while attempted := await worker.run_once():
                total += attempted
            return total
        finally:
            await engine.dispose()

    return int(run_sync(go()))


def table_counts(settings: Settings) -> dict[str, int]:
    return {
        t.__tablename__: int(count_rows(settings, select(func.count()).select_from(t)))
        for t in TABLES
    }


def test_a_demo_order_through_its_life_from_the_command_line(
    cli_env: Settings, smtp_sink: SmtpSink
) -> None:
    assert notices("--now", _at(1, 9)) == []  # the first pass learns the store
    cli("store", "advance", "#1001", "--to", "shipped")
    shipped = notices("--now", _at(1, 10))
    assert [(n["order"], n["event"], n["channel"], n["email"], n["template"]) for n in shipped] == [
        ("#1001", "shipped", "email", "ada@example.com", "shipped")
    ]
    cli("store", "advance", "#1001", "--to", "in_transit")
    assert notices("--now", _at(1, 11)) == []
    cli("store", "advance", "#1001", "--to", "out_for_delivery")
    assert [n["event"] for n in notices("--now", _at(2, 10))] == ["out_for_delivery"]
    cli("store", "advance", "#1001", "--to", "delivered")
    assert notices("--now", _at(2, 15)) == []  # one a day: tomorrow
    delivered = notices("--now", _at(3, 10))
    assert [n["event"] for n in delivered] == ["delivered"]
    assert notices("--now", _at(3, 11)) == [] and notices("--now", _at(4, 10)) == []
    conversation = {n["conversation_id"] for n in shipped + delivered}
    assert len(conversation) == 1
    assert deliver(cli_env) == 3
    assert deliver(cli_env) == 0
    assert [m.rcpt_tos for m in smtp_sink.sent] == [["ada@example.com"]] * 3
    subjects = [m.message["Subject"].split(" [#")[0] for m in smtp_sink.sent]
    assert subjects == [
        "Your order #1001 is on its way",
        "Order #1001 is out for delivery today",
        "Order #1001 was delivered",
    ]


def test_dry_run_writes_nothing_and_opt_out_is_honoured(
    cli_env: Settings, smtp_sink: SmtpSink
) -> None:
    notices("--now", _at(1, 9))
    cli("store", "advance", "#1002", "--to", "shipped")
    before = table_counts(cli_env)
    dry = notices("--dry-run", "--now", _at(1, 10))
    assert [(n["order"], n["event"]) for n in dry] == [("#1002", "shipped")]
    assert table_counts(cli_env) == before  # not one row written
    assert cli("notify", "opt-out", "chloe@example.fr").stdout.strip() == "opted out"
    assert cli("notify", "opt-out", "Chloe@Example.fr").stdout.strip() == "already opted out"
    result = cli("notify", "run", "--json", "--now", _at(1, 10))
    assert "{" not in result.stdout
    assert "opted_out 1" in result.stderr
    assert deliver(cli_env) == 0 and smtp_sink.sent == []


def test_store_advance_refuses_what_cannot_happen(cli_env: Settings) -> None:  # noqa: ARG001
    from cli import app

    runner = CliRunner()
    late = runner.invoke(app, ["store", "advance", "#1001", "--to", "delivered"])
    assert late.exit_code == 1 and "not shipped" in late.stderr
    bad = runner.invoke(app, ["store", "advance", "#1001", "--to", "teleported"])
    assert bad.exit_code == 2
    cli("store", "advance", "#1001", "--to", "shipped")
    before = json.loads(cli("store", "orders", "--json", "--limit", "100").stdout)
    eta = next(o for o in before if o["number"] == "#1001")["tracking"]["estimated_delivery"]
    moved = json.loads(cli("store", "advance", "#1001", "--to", "delayed", "--days", "2").stdout)
    new_eta = datetime.fromisoformat(moved["tracking"]["estimated_delivery"])
    assert new_eta - datetime.fromisoformat(eta) == timedelta(days=2)
