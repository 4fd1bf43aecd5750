"""`support-agent email process FILE.eml... --dry-run --json` against the demo store: one JSON
line per file with the documented fields, the robot suppressed, the human answered, and the
configured database left exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from settings import Settings
from storage.tables import Conversation
from storage.tables_email import EmailRecord
from tests.channels.email.conftest import Dovecot, mail
from tests.conftest import count_rows
from tests.storage.conftest import postgres_url  # noqa: F401 - the throw-away database fixture

FIXTURES = Path(__file__).parent / "fixtures"


def test_process_dry_run_prints_one_line_per_file_and_writes_nothing(
    tmp_path: Path, live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli import app

    monkeypatch.setenv("SUPPORT_DATA_DIR", str(live_settings.data_dir))
    monkeypatch.setenv("SUPPORT_ENV", "test")
    monkeypatch.setenv("SUPPORT_EMAIL_ADDRESS", "support@shop.test")
    human = tmp_path / "human.eml"
    human.write_bytes(mail("What is your return policy?", message_id="<cli1@example.com>"))
    robot = FIXTURES / "bounce-postfix-dsn.eml"
    runner = CliRunner()
    # the database exists and holds something before the dry run
    assert runner.invoke(app, ["ask", "hello", "--json"]).exit_code == 0
    before = count_rows(live_settings, select(func.count()).select_from(Conversation))
    emails = count_rows(live_settings, select(func.count()).select_from(EmailRecord))
    result = runner.invoke(app, ["email", "process", str(human), str(robot), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.strip().splitlines() if x.startswith("{")]
    assert [line["file"] for line in lines] == [str(human), str(robot)]
    fields = {"file", "message_id", "action", "reason", "conversation_id", "reply"}
    assert all(set(line) == fields for line in lines)
    assert (lines[0]["action"], lines[0]["message_id"]) == ("reply", "<cli1@example.com>")
    assert "return" in lines[0]["reply"].lower()
    assert (lines[1]["action"], lines[1]["reason"]) == ("suppress", "auto_submitted")
    after = count_rows(live_settings, select(func.count()).select_from(Conversation))
    assert after == before
    assert count_rows(live_settings, select(func.count()).select_from(EmailRecord)) == emails


def test_poll_handles_the_mailbox_once(
    live_settings: Settings, monkeypatch: pytest.MonkeyPatch, dovecot: Dovecot
) -> None:
    from cli import app

    for key, value in {
        "SUPPORT_DATA_DIR": str(live_settings.data_dir),
        "SUPPORT_ENV": "test",
        "SUPPORT_EMAIL_ADDRESS": "support@shop.test",
        "SUPPORT_IMAP_HOST": dovecot.host,
        "SUPPORT_IMAP_PORT": str(dovecot.port),
        "SUPPORT_IMAP_SECURITY": "none",
        "SUPPORT_IMAP_USER": dovecot.user,
        "SUPPORT_IMAP_PASSWORD": dovecot.password,
    }.items():
        monkeypatch.setenv(key, value)
    dovecot.append(mail("What is your return policy?", message_id="<poll1@example.com>"))
    runner = CliRunner()
    first = runner.invoke(app, ["email", "poll"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout.strip().splitlines()[-1]) == {"handled": 1}
    second = runner.invoke(app, ["email", "poll"])
    assert json.loads(second.stdout.strip().splitlines()[-1]) == {"handled": 0}
    assert dovecot.count("Processed") == 1
    action = count_rows(
        live_settings,
        select(EmailRecord.action).where(EmailRecord.message_id == "<poll1@example.com>"),
    )
    assert action == "reply"


def _all_rows(settings: Settings) -> dict[str, int]:
    from storage.tables import Base

    return {
        table.name: count_rows(settings, select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


@pytest.mark.postgres
def test_process_dry_run_on_postgresql_rolls_everything_back(
    tmp_path: Path,
    live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    smtp_sink: Any,
) -> None:
    """One outer transaction, the inbound path's own commits as SAVEPOINTs, rolled back: every
    table holds what it held before, no attachment file is left, and nothing reaches SMTP."""
    from cli import app

    for key, value in {
        "SUPPORT_DATA_DIR": str(live_settings.data_dir),
        "SUPPORT_DATABASE_URL": request.getfixturevalue("postgres_url"),
        "SUPPORT_ENV": "test",
        "SUPPORT_EMAIL_ADDRESS": "support@shop.test",
        "SUPPORT_SMTP_HOST": "127.0.0.1",
        "SUPPORT_SMTP_PORT": str(smtp_sink.port),
        "SUPPORT_SMTP_SECURITY": "none",
    }.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.sqlalchemy_url.startswith("postgresql")
    runner = CliRunner()
    # the database holds a conversation and an email thread before the dry run
    assert runner.invoke(app, ["ask", "hello", "--json"]).exit_code == 0
    seeded = tmp_path / "seed.eml"
    seeded.write_bytes(mail("Do you ship to Canada?", message_id="<pg0@example.com>"))
    assert runner.invoke(app, ["email", "process", str(seeded)]).exit_code == 0
    before = _all_rows(settings)
    folder = live_settings.data_dir / "attachments"
    files = sorted(folder.rglob("*")) if folder.exists() else []
    assert before["conversations"] >= 2 and before["email_messages"] >= 1
    photo = FIXTURES / "attachments" / "photo-pdf-text.eml"
    answer = tmp_path / "answer.eml"
    answer.write_bytes(
        mail(
            "And what is your return policy?",
            message_id="<pg1@example.com>",
            headers={"In-Reply-To": "<pg0@example.com>"},
        )
    )
    robot = FIXTURES / "bounce-postfix-dsn.eml"
    result = runner.invoke(
        app,
        ["email", "process", str(photo), str(answer), str(robot), "--dry-run", "--json"],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.strip().splitlines() if x.startswith("{")]
    assert [line["action"] for line in lines][2] == "suppress"
    assert lines[0]["conversation_id"] and lines[0]["action"] in ("reply", "draft")
    assert lines[1]["action"] in ("reply", "draft") and "return" in lines[1]["reply"].lower()
    assert _all_rows(settings) == before
    assert (sorted(folder.rglob("*")) if folder.exists() else []) == files
    assert smtp_sink.sent == []
