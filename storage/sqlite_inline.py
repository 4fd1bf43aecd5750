"""The SQLite driver under SQLAlchemy's aiosqlite dialect, without a thread hop per call.

aiosqlite runs every call (cursor, execute, fetchall, close) on its own thread and wakes the
event loop for each result: four hops per statement, ~40 per chat turn, which cost more CPU
than the statements themselves (a `SELECT 1` through SQLAlchemy + aiosqlite ~180 us of CPU,
through SQLAlchemy sync ~14 us, through this driver ~40 us). Most of these calls cannot block:
a read in WAL mode takes no lock (nor does a deferred BEGIN), and a statement inside a
transaction that already holds the write lock (BEGIN IMMEDIATE, storage/engine.py) waits for
nobody. Those run inline on the event loop. What can wait runs on a worker thread, as before:
BEGIN IMMEDIATE (queues on busy_timeout behind another process's writer), COMMIT (fsync with
synchronous=FULL), any write outside such a transaction, DDL, connect and close.

Plugged in through `create_async_engine(async_creator=...)`: the dialect, its SQL, types and
exceptions (sqlite3's) stay aiosqlite's; only the object under the adapter changes."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")
_WRITE_BEGIN = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")


class InlineCursor:
    """The async cursor SQLAlchemy's adapter drives (aiosqlite's shape)."""

    def __init__(self, connection: InlineConnection) -> None:
        self._owner = connection
        self._cursor = connection._conn.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        run = partial(self._cursor.execute, sql, () if parameters is None else parameters)
        head = sql.lstrip()[:16].upper()
        if head.startswith(_WRITE_BEGIN):
            await self._owner.off_loop(run)
            self._owner.writer = True
        elif self._owner.inline_ok(head):
            run()
        else:
            await self._owner.off_loop(run)
        return self

    async def executemany(self, sql: str, seq: Sequence[Sequence[Any]]) -> InlineCursor:
        run = partial(self._cursor.executemany, sql, seq)
        if self._owner.inline_ok(sql.lstrip()[:16].upper()):
            run()
        else:
            await self._owner.off_loop(run)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """aiosqlite.Connection's surface as SQLAlchemy's aiosqlite adapter uses it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = conn
        self.writer = False  # inside a transaction begun with BEGIN IMMEDIATE
        # the call running on a worker thread; one cancelled while it waits still finishes
        # there, and a rollback or close must not overtake it
        self._running: asyncio.Future[Any] | None = None

    async def off_loop(self, call: Callable[[], T]) -> T:
        await self._settled()
        future = asyncio.get_running_loop().run_in_executor(None, call)
        self._running = future
        return await future

    async def _settled(self) -> None:
        running, self._running = self._running, None
        if running is not None and not running.done():
            await asyncio.wait([running])

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    def inline_ok(self, head: str) -> bool:
        """A statement that cannot wait for a lock: a read, or any statement of a transaction
        that holds the write lock already."""
        if self.writer and self._conn.in_transaction:
            return True
        self.writer = False
        # a deferred BEGIN takes no lock
        return head.startswith(("SELECT", "BEGIN", "PRAGMA TABLE", "PRAGMA INDEX"))

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        cursor = self.cursor()
        await cursor.execute(sql, parameters)
        return cursor

    async def commit(self) -> None:
        conn = self._conn
        self.writer = False
        if conn.in_transaction:
            await self.off_loop(conn.commit)

    async def rollback(self) -> None:
        self.writer = False
        await self._settled()
        self._conn.rollback()  # nothing to flush to disk: it never waits

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        await self._settled()
        conn, self._connection = self._connection, None
        if conn is not None:  # the last connection checkpoints the WAL: off the loop
            await asyncio.get_running_loop().run_in_executor(None, conn.close)

    def stop(self) -> None:
        conn, self._connection = self._connection, None
        if conn is not None:
            conn.close()


def creator(database: str, *, uri: bool = False, timeout: float = 30.0) -> Any:
    """`async_creator` for create_async_engine: connects on a worker thread (opening may wait
    for a lock), in autocommit mode so that transactions are begun by storage/engine.py."""

    async def connect() -> InlineConnection:
        conn = await asyncio.get_running_loop().run_in_executor(
            None,
            partial(
                sqlite3.connect,
                database,
                timeout=timeout,
                uri=uri,
                check_same_thread=False,  # the loop and a worker thread take turns, never at once
                isolation_level=None,
            ),
        )
        return InlineConnection(conn)

    return connect
