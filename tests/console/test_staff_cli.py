"""`support-agent staff add|list|disable|passwd` through Typer's CliRunner, on the test database
(SQLite, and PostgreSQL in the db pass): the rows they leave, and that a password never travels
as an argument."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli import app
from settings import Settings
from storage.tables import utcnow
from storage.tables_console import StaffMember, StaffSession
from tests.conftest import count_rows, fetch_rows

runner = CliRunner()
PASSWORD = "a long enough password"


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    values = {
        "SUPPORT_ENV": "test",
        "SUPPORT_DATA_DIR": str(settings.data_dir),
        "SUPPORT_STAFF_PASSWORD_TIME_COST": "1",
        "SUPPORT_STAFF_PASSWORD_MEMORY_KIB": "64",
    }
    if settings.database_url:
        values["SUPPORT_DATABASE_URL"] = settings.database_url
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    made = Settings()
    asyncio.run(_migrated(made))  # tables exist even where a command fails before its work
    return made


async def _migrated(settings: Settings) -> None:
    from storage.engine import make_engine
    from storage.migrate import upgrade

    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def staff(*args: str, stdin: str | None = None) -> Any:
    return runner.invoke(app, ["staff", *args], input=stdin)


def _members(settings: Settings) -> list[tuple[Any, ...]]:
    return fetch_rows(
        settings,
        select(StaffMember.email, StaffMember.role, StaffMember.name, StaffMember.disabled_at)
        .order_by(StaffMember.email),
    )


def _authenticate(settings: Settings, email: str, password: str) -> bool:
    from console.accounts import authenticate
    from storage.engine import make_engine, make_sessionmaker

    async def check() -> bool:
        engine = make_engine(settings.sqlalchemy_url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await authenticate(session, settings, email, password) is not None
        finally:
            await engine.dispose()

    return asyncio.run(check())


def _open_session(settings: Settings, email: str) -> None:
    from storage.engine import make_engine, make_sessionmaker

    async def add() -> None:
        engine = make_engine(settings.sqlalchemy_url)
        try:
            async with make_sessionmaker(engine).begin() as session:
                member = await session.scalar(select(StaffMember).where(StaffMember.email == email))
                now = utcnow()
                session.add(StaffSession(
                    id_hash=f"{email:x<64}"[:64], staff_id=member.id, created_at=now,
                    last_seen_at=now, expires_at=now + timedelta(hours=1),
                ))
        finally:
            await engine.dispose()

    asyncio.run(add())


def _sessions(settings: Settings) -> int:
    return count_rows(settings, select(func.count()).select_from(StaffSession))


def test_add_with_password_on_stdin_and_list(env: Settings) -> None:
    added = staff("add", "Ada@Example.com", "--role", "admin", "--name", "Ada",
                  "--password-stdin", stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "added ada@example.com (admin)" in added.output
    prompted = staff("add", "bob@example.com", "--role", "agent", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output  # the prompt hides what is typed
    assert _members(env) == [
        ("ada@example.com", "admin", "Ada", None), ("bob@example.com", "agent", "", None)
    ]
    (stored,) = fetch_rows(env, select(StaffMember.password_hash).limit(1))[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert _authenticate(env, "ada@example.com", PASSWORD)

    listed = staff("list", "--json")
    assert listed.exit_code == 0
    rows = json.loads(listed.output)
    assert [(r["email"], r["role"], r["disabled"]) for r in rows] == [
        ("ada@example.com", "admin", False), ("bob@example.com", "agent", False)
    ]
    assert "password" not in listed.output
    plain = staff("list")
    assert "ada@example.com" in plain.output and "active" in plain.output


def test_a_password_is_never_an_argument(env: Settings) -> None:
    refused = staff("add", "ada@example.com", "--role", "agent", "--password", PASSWORD)
    assert refused.exit_code != 0
    assert _members(env) == []


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "agent"], "short\n", "at least 12 characters"),
        (["--role", "boss"], PASSWORD + "\n", "role must be one of"),
    ],
)
def test_add_refuses_bad_input(env: Settings, args: list[str], stdin: str, message: str) -> None:
    result = staff("add", "ada@example.com", *args, "--password-stdin", stdin=stdin)
    assert result.exit_code == 1 and message in result.output
    assert _members(env) == []


def test_add_refuses_a_second_account_for_one_email(env: Settings) -> None:
    assert staff("add", "ada@example.com", "--role", "agent", "--password-stdin",
                 stdin=PASSWORD + "\n").exit_code == 0
    again = staff("add", "ADA@example.com", "--role", "admin", "--password-stdin",
                  stdin=PASSWORD + "\n")
    assert again.exit_code == 1 and "already" in again.output
    assert _members(env) == [("ada@example.com", "agent", "", None)]


def test_disable_ends_the_sessions_at_once(env: Settings) -> None:
    for email in ("ada@example.com", "bob@example.com"):
        staff("add", email, "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n")
        _open_session(env, email)
    assert _sessions(env) == 2
    result = staff("disable", "ada@example.com")
    assert result.exit_code == 0, result.output
    members = _members(env)
    assert members[0][0] == "ada@example.com" and members[0][3] is not None
    assert members[1][3] is None
    assert _sessions(env) == 1  # bob's stays
    assert not _authenticate(env, "ada@example.com", PASSWORD)
    assert staff("disable", "nobody@example.com").exit_code == 1


def test_passwd_changes_the_hash_and_ends_the_sessions(env: Settings) -> None:
    staff("add", "ada@example.com", "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n")
    _open_session(env, "ada@example.com")
    new = "another long password"
    result = staff("passwd", "ada@example.com", "--password-stdin", stdin=new + "\n")
    assert result.exit_code == 0, result.output
    assert _sessions(env) == 0
    assert _authenticate(env, "ada@example.com", new)
    assert not _authenticate(env, "ada@example.com", PASSWORD)
