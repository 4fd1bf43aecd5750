"""Engine and session factory. SQLite (default) runs in WAL mode with synchronous=FULL so an
acknowledged write survives a power cut; PostgreSQL is used when the URL says so."""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_inline


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # transactions are begun by us (below), not by the driver's implicit BEGIN (the inline
    # driver connects that way already)
    if dbapi_connection.isolation_level is not None:
        dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # other processes (a shell's `kb ingest`, the CLI) queue here rather than fail
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin(connection: Any) -> None:
    """A deferred transaction that reads and then writes cannot wait for the write lock in WAL
    mode: SQLite fails it at once with "database is locked" (the busy timeout does not apply to
    the upgrade). Write transactions (`sessions.begin()`) therefore take the write lock at BEGIN
    and queue on busy_timeout; plain reads stay deferred and never block writers."""
    if connection.get_execution_options().get(_WRITE):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def make_engine(url: str) -> AsyncEngine:
    """hide_parameters: an error trace names the statement but never the values, which are
    customers' emails, addresses and messages."""
    if url.startswith("sqlite"):
        parsed = make_url(url)
        engine = create_async_engine(
            url,
            # the sqlite3 connection without aiosqlite's thread hop per call (sqlite_inline.py)
            async_creator=sqlite_inline.creator(
                parsed.database or ":memory:",
                uri=parsed.query.get("uri") in ("true", "1"),
                timeout=30,
            ),
            hide_parameters=True,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _begin)
        return engine
    engine = create_async_engine(
        url, pool_size=10, max_overflow=20, pool_recycle=1800, hide_parameters=True
    )
    event.listen(engine.sync_engine, "checkout", _closed_is_stale)
    return engine


def _closed_is_stale(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection the server has closed (a restart, an idle timeout) is
    replaced at checkout. asyncpg notices the closed socket by itself, so this costs no round
    trip; SQLAlchemy's pool_pre_ping would cost three per transaction (BEGIN, a ping,
    ROLLBACK), a fifth of a turn's database work. A connection that dies unnoticed fails its
    one statement and the pool drops every connection older than it (SQLAlchemy's disconnect
    handling)."""
    inner = getattr(dbapi_connection, "_connection", None)
    if inner is not None and inner.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


_WRITE = "support_write_transaction"


class Sessions(async_sessionmaker[AsyncSession]):
    """`sessions()` for reads, `sessions.begin()` for a write transaction (committed on exit).

    On SQLite a write transaction takes the write lock up front (see _begin), and the writers of
    one process take turns on an asyncio lock first: SQLite allows one writer at a time anyway,
    and a writer waiting in the event loop costs nothing, while one waiting inside SQLite times
    out when a busy event loop is slow to let the current writer finish."""

    _serialize = False
    _locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
    _holder: contextvars.ContextVar[bool]

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> Sessions:
        made = cls(engine, expire_on_commit=False)
        made._serialize = engine.dialect.name == "sqlite"
        made._locks = weakref.WeakKeyDictionary()
        made._holder = contextvars.ContextVar(f"sqlite_writer_{id(made)}", default=False)
        return made

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:  # type: ignore[override]
        if not self._serialize or self._holder.get():  # PostgreSQL, or nested in our own write
            async with self._transaction() as session:
                yield session
            return
        loop = asyncio.get_running_loop()
        lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:
            token = self._holder.set(True)
            try:
                async with self._transaction() as session:
                    yield session
            finally:
                self._holder.reset(token)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self() as session, session.begin():
            await session.connection(execution_options={_WRITE: True})
            yield session


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return Sessions.for_engine(engine)
