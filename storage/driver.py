"""SQL of our own on the driver connection under a session's transaction (asyncpg, or the inline
SQLite driver), for storage/fastpath.py.

Through the session, a statement costs ~1 ms of CPU on either database against ~0.3 ms through
asyncpg and ~0.02 ms through sqlite3 (bench/db_statements.py, docs/benchmarks.md): the session,
connection and greenlet machinery around each statement, not the SQL. Statements run here on the
connection of the session's own transaction, so they commit or roll back with it and see (and
are seen by) whatever else the transaction did through the session.

Values cross the driver as SQLAlchemy would store them, so a row written here reads back the
same through the ORM and the other way round (tests/storage/test_fastpath.py): JSON as
`json.dumps` text (Python None too: the JSON `null`, as SQLAlchemy writes an explicit None);
on SQLite, datetimes as SQLAlchemy's naive `YYYY-MM-DD HH:MM:SS.ffffff` text, read back naive
as the ORM does; on PostgreSQL, `timestamptz` and `json` through the codecs SQLAlchemy's
asyncpg dialect registers on each connection. SQL is written with PostgreSQL's `$1` parameters.
Driver errors are raised as SQLAlchemy's, with the parameters hidden (storage/engine.py)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NoReturn, TypeVar

import asyncpg
from sqlalchemy import JSON, Boolean, DateTime, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers, instrumentation

E = TypeVar("E")
_INFO_KEY = "support_fastpath"
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


class Driver:
    """The driver connection of one transaction, and how values cross it."""

    sqlite: bool

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]:
        raise NotImplementedError

    async def execute(self, sql: str, args: Sequence[Any]) -> int:
        raise NotImplementedError

    def write(self, column_type: Any, value: Any) -> Any:
        if isinstance(column_type, JSON):
            return json.dumps(value)
        if self.sqlite and isinstance(value, datetime):
            return value.strftime(_SQLITE_TIME)
        return value

    def time(self, value: datetime) -> Any:
        return value.strftime(_SQLITE_TIME) if self.sqlite else value


class _Postgres(Driver):
    sqlite = False

    def __init__(self, adapted: Any, dialect: Any) -> None:
        # SQLAlchemy's asyncpg adapter begins its transaction at the first statement it runs;
        # a statement of ours may be the first, so it begins it the same way
        self._adapted = adapted
        self._conn: asyncpg.Connection = adapted._connection
        self._dialect = dialect

    async def _begun(self) -> asyncpg.Connection:
        if self._adapted._transaction is None:
            await self._adapted._start_transaction()
        return self._conn

    def _fail(self, sql: str, args: Sequence[Any], exc: Exception) -> NoReturn:
        """The driver's error as SQLAlchemy raises it (IntegrityError, OperationalError, ...),
        its parameters hidden like the engine's (storage/engine.py)."""
        dbapi = self._dialect.loaded_dbapi
        try:
            self._adapted._handle_exception(exc)  # raises the adapter's translation
        except dbapi.Error as translated:
            raise DBAPIError.instance(
                sql, args, translated, dbapi.Error, hide_parameters=True, dialect=self._dialect
            ) from translated
        raise exc  # pragma: no cover (the adapter always raises)

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]:
        conn = await self._begun()
        try:
            return await conn.fetch(sql, *args)
        except Exception as exc:
            self._fail(sql, args, exc)

    async def execute(self, sql: str, args: Sequence[Any]) -> int:
        conn = await self._begun()
        try:
            status = await conn.execute(sql, *args)  # "UPDATE 1", "INSERT 0 3"
        except Exception as exc:
            self._fail(sql, args, exc)
        return int(status.rsplit(" ", 1)[-1])


class _Sqlite(Driver):
    """Through the inline driver's own cursor (storage/sqlite_inline.py), so a statement that
    could wait for a lock still leaves the event loop."""

    sqlite = True

    def __init__(self, inline: Any, dialect: Any) -> None:
        self._inline = inline
        self._dialect = dialect

    async def _run(self, sql: str, args: Sequence[Any]) -> Any:
        try:
            return await self._inline.execute(_qmark(sql), args)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(
                sql, args, exc, sqlite3.Error, hide_parameters=True, dialect=self._dialect
            ) from exc

    async def fetch(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]:
        cursor = await self._run(sql, args)
        try:
            return list(await cursor.fetchall())
        finally:
            await cursor.close()

    async def execute(self, sql: str, args: Sequence[Any]) -> int:
        cursor = await self._run(sql, args)
        await cursor.close()
        return int(cursor.rowcount)


@lru_cache(maxsize=256)
def _qmark(sql: str) -> str:
    """PostgreSQL's `$1` parameters as SQLite's numbered `?1` (the same numbers, reusable)."""
    return re.sub(r"\$(\d+)", r"?\1", sql)


async def driver_of(session: AsyncSession) -> Driver:
    """The driver connection under the session's current transaction, looked up once per
    transaction. Objects the session has yet to flush go first, as its autoflush would."""
    sync = session.sync_session
    if sync.new or sync.deleted or sync.dirty:
        await session.flush()
    transaction = sync.get_transaction()
    cached = session.info.get(_INFO_KEY)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]  # type: ignore[no-any-return]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    dialect = connection.dialect
    driver: Driver = (
        _Sqlite(raw.driver_connection, dialect)
        if dialect.name == "sqlite"
        else _Postgres(raw.dbapi_connection, dialect)
    )
    session.info[_INFO_KEY] = (sync.get_transaction(), driver)
    return driver


# --- rows in and out -------------------------------------------------------------------------


def columns_sql(table: Table) -> str:
    return ", ".join(c.name for c in table.columns)


def _reader(driver: Driver, table: Table) -> list[Any]:
    """Per column, what turns the driver's value into the ORM's (None: nothing to do)."""
    if not driver.sqlite:
        return [None] * len(table.columns)  # asyncpg's codecs give the ORM's values already
    out: list[Any] = []
    for column in table.columns:
        if isinstance(column.type, JSON):
            out.append(json.loads)
        elif isinstance(column.type, DateTime):
            out.append(datetime.fromisoformat)  # naive, as SQLAlchemy reads SQLite's text
        elif isinstance(column.type, Boolean):
            out.append(bool)
        else:
            out.append(None)
    return out


def objects(entity: type[E], values: list[dict[str, Any]]) -> list[E]:
    """Plain ORM objects, not in the session, as `entity(**v)` makes them at a tenth of the
    CPU (the ORM's loader does the same: a new instance, its attributes set in its dict)."""
    configure_mappers()  # a no-op once done; new_instance needs configured attributes
    manager = instrumentation.manager_of_class(entity)
    out = []
    for v in values:
        obj = manager.new_instance()
        obj.__dict__.update(v)
        out.append(obj)
    return out


def detached(entity: type[E], table: Table, driver: Driver, rows: list[Sequence[Any]]) -> list[E]:
    """Detached objects from full rows in the table's column order."""
    names = [c.key for c in table.columns]
    readers = _reader(driver, table)
    return objects(
        entity,
        [
            {
                name: (value if read is None or value is None else read(value))
                for name, read, value in zip(names, readers, row, strict=True)
            }
            for row in rows
        ],
    )


@lru_cache(maxsize=128)
def _insert_sql(table: str, columns: tuple[str, ...], count: int) -> str:
    width = len(columns)
    groups = ", ".join(
        "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(count)
    )
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {groups}"


async def insert(session: AsyncSession, entity: type[Any], rows: list[dict[str, Any]]) -> None:
    """One INSERT of all `rows` (the same keys each, every value given: no column defaults
    are applied here)."""
    if not rows:
        return
    driver = await driver_of(session)
    table: Table = entity.__table__
    columns = tuple(rows[0])
    types = [table.c[name].type for name in columns]
    args = [
        driver.write(t, row[name]) for row in rows for name, t in zip(columns, types, strict=True)
    ]
    await driver.execute(_insert_sql(table.name, columns, len(rows)), args)
