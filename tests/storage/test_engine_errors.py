"""SQL errors in the logs: the engine hides bound parameters, so a failed insert's trace names
the statement but not the customer's message or email (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from logs import configure_logging
from storage import repo
from storage.engine import make_engine, make_sessionmaker
from storage.migrate import upgrade

BODY = "please send it to ada@example.com, Zyxwvut is my secret word"


async def _duplicate_insert_trace(url: str) -> str:
    engine = make_engine(url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    stream = io.StringIO()
    handler = configure_logging("INFO", stream=stream)
    try:
        async with sessions.begin() as session:
            conversation = await repo.create_conversation(session, channel="test")
            await repo.append_message(
                session,
                conversation_id=conversation.id,
                role="customer",
                text="first",
                client_id="ada@example.com",
            )
        with pytest.raises(IntegrityError) as raised:
            async with sessions.begin() as session:
                await repo.append_message(
                    session,
                    conversation_id=conversation.id,
                    role="customer",
                    text=BODY,
                    client_id="ada@example.com",
                )
        try:
            raise raised.value
        except IntegrityError:
            logging.getLogger("support.test").exception("insert failed")
        assert "parameters hidden" in str(raised.value)
        return stream.getvalue()
    finally:
        logging.getLogger().removeHandler(handler)
        await engine.dispose()


async def test_sqlite_integrity_error_trace_carries_no_row(tmp_path: Path) -> None:
    trace = await _duplicate_insert_trace(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert "IntegrityError" in trace and "INSERT INTO messages" in trace
    assert "Zyxwvut" not in trace and "ada@example.com" not in trace


@pytest.mark.postgres
async def test_postgres_integrity_error_trace_carries_no_row(postgres_url: str) -> None:
    url = "postgresql+asyncpg://" + postgres_url.split("://", 1)[1]
    trace = await _duplicate_insert_trace(url)
    # PostgreSQL's DETAIL quotes the key itself ("Key (...)=(..., ada@example.com)"):
    # the formatter masks it
    assert "IntegrityError" in trace and "uq_messages_client_id" in trace
    assert "Zyxwvut" not in trace and "ada@example.com" not in trace
