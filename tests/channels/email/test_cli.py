"""`support-agent email process FILE.eml... --dry-run --json` against the demo store: one JSON
line per file with the documented fields, the robot suppressed, the human answered, and the
configured database left exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from settings import Settings
from storage.tables import Conversation
from storage.tables_email import EmailRecord
from tests.channels.email.conftest import Dovecot, mail
from tests.conftest import count_rows

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
