"""Pooled PostgreSQL connections the server closed (a restart, pg_terminate_backend) are
replaced at checkout, without a ping round trip per transaction: the next transaction works."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import event, text

from storage.engine import make_engine, make_sessionmaker

pytestmark = pytest.mark.postgres


async def test_a_terminated_pooled_connection_is_replaced(postgres_url: str) -> None:
    engine = make_engine(postgres_url.replace("postgresql://", "postgresql+asyncpg://"))
    sessions = make_sessionmaker(engine)
    statements: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_a: statements.append(statement),
    )
    try:
        async with sessions.begin() as session:
            first_pid = await session.scalar(text("SELECT pg_backend_pid()"))
        admin = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first_pid)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)  # the closed socket reaches asyncpg
        statements.clear()
        async with sessions.begin() as session:
            second_pid = await session.scalar(text("SELECT pg_backend_pid()"))
        assert second_pid != first_pid
        # only the caller's statement ran: no ping of the pooled connection
        assert statements == ["SELECT pg_backend_pid()"]
    finally:
        await engine.dispose()
