"""A chat turn's hot statements straight through the database driver, inside the caller's
SQLAlchemy transaction.

Through the session, a statement costs ~1 ms of CPU on either database against ~0.3 ms through
asyncpg and ~0.02 ms through sqlite3 (bench/db_statements.py, docs/benchmarks.md): the session,
connection and greenlet machinery around each statement, not the SQL. A turn runs about ten of
them. The functions here run the same SQL as storage/repo.py and storage/leases.py on the
driver connection of the session's own transaction, so they commit or roll back with it and see
(and are seen by) whatever else the transaction did through the session.

Values cross the driver as SQLAlchemy would store them, so a row written here reads back the
same through the ORM and the other way round (tests/storage/test_fastpath.py): JSON as
`json.dumps` text (Python None too: the JSON `null`, as SQLAlchemy writes an explicit None);
on SQLite, datetimes as SQLAlchemy's naive `YYYY-MM-DD HH:MM:SS.ffffff` text, read back naive
as the ORM does; on PostgreSQL, `timestamptz` and `json` through the codecs SQLAlchemy's
asyncpg dialect registers on each connection. Rows come back as detached ORM objects, like
repo.append_messages' (built without the ORM's per-object constructor)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NoReturn, TypeVar

import asyncpg
from sqlalchemy import JSON, Boolean, DateTime, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers, instrumentation

from storage.tables import AuditEntry, Conversation, Message, Owner, new_id, utcnow
from storage.tables_widget import OutcomeEvent

E = TypeVar("E")
KEEP: Any = object()  # finish_turn: leave the engine state as it is (same as repo.KEEP)
_INFO_KEY = "support_fastpath"
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


class _Driver:
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


class _Postgres(_Driver):
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


class _Sqlite(_Driver):
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


async def _driver(session: AsyncSession) -> _Driver:
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
    driver: _Driver = (
        _Sqlite(raw.driver_connection, dialect)
        if dialect.name == "sqlite"
        else _Postgres(raw.dbapi_connection, dialect)
    )
    session.info[_INFO_KEY] = (sync.get_transaction(), driver)
    return driver


# --- rows in and out ---------------------------------------------------------------------------


def _columns(table: Table) -> str:
    return ", ".join(c.name for c in table.columns)


def _reader(driver: _Driver, table: Table) -> list[Any]:
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


def _objects(entity: type[E], values: list[dict[str, Any]]) -> list[E]:
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


def _detached(entity: type[E], table: Table, driver: _Driver, rows: list[Sequence[Any]]) -> list[E]:
    """Detached objects from full rows in the table's column order."""
    names = [c.key for c in table.columns]
    readers = _reader(driver, table)
    return _objects(
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
    driver = await _driver(session)
    table: Table = entity.__table__
    columns = tuple(rows[0])
    types = [table.c[name].type for name in columns]
    args = [
        driver.write(t, row[name]) for row in rows for name, t in zip(columns, types, strict=True)
    ]
    await driver.execute(_insert_sql(table.name, columns, len(rows)), args)


# --- the turn's statements ---------------------------------------------------------------------


async def conversation(session: AsyncSession, conversation_id: str) -> Conversation | None:
    """The conversation's row (repo.get_conversation), as a detached object."""
    driver = await _driver(session)
    table = Conversation.__table__
    rows = await driver.fetch(
        f"SELECT {_columns(table)} FROM conversations WHERE id = $1", [conversation_id]
    )
    found = _detached(Conversation, table, driver, rows)
    return found[0] if found else None


async def create_conversation(
    session: AsyncSession, *, channel: str, lease: tuple[str, float] | None = None
) -> Conversation:
    """A new conversation owned by the bot (repo.create_conversation: the same columns), with
    the turn lease of `lease` = (holder, ttl_s) taken (claim_turn) when given."""
    now = utcnow()
    values: dict[str, Any] = {
        "id": new_id(),
        "channel": channel,
        "owner": str(Owner.BOT),
        "owner_version": 0,
        "failed_verifications": 0,
        "created_at": now,
        "updated_at": now,
    }
    if lease is not None:
        values["turn_holder"] = lease[0]
        values["turn_until"] = now + timedelta(seconds=lease[1])
    await insert(session, Conversation, [values])
    empty = dict.fromkeys(
        ("owner_staff_id", "verified_customer_id", "verified_at", "engine_state")
        + ("turn_holder", "turn_until")
    )
    return _objects(Conversation, [{**empty, **values}])[0]


async def window(session: AsyncSession, conversation_id: str, *, limit: int) -> list[Message]:
    """The last `limit` messages, oldest first (repo.history with a limit)."""
    driver = await _driver(session)
    table = Message.__table__
    rows = await driver.fetch(
        f"SELECT {_columns(table)} FROM messages WHERE conversation_id = $1 "
        "ORDER BY seq DESC LIMIT $2",
        [conversation_id, limit],
    )
    rows.reverse()
    return _detached(Message, table, driver, rows)


async def last_seq(session: AsyncSession, conversation_id: str) -> int:
    driver = await _driver(session)
    rows = await driver.fetch(
        "SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = $1", [conversation_id]
    )
    return int(rows[0][0])


async def append_messages(
    session: AsyncSession,
    conversation_id: str,
    rows: list[dict[str, Any]],
    *,
    after_seq: int | None = None,
) -> list[Message]:
    """repo.append_messages in one INSERT: seq follows `after_seq` (looked up when None); the
    unique (conversation, seq) makes a racing writer fail rather than interleave."""
    seq = await last_seq(session, conversation_id) if after_seq is None else after_seq
    now = utcnow()
    values = [
        {
            "id": new_id(),
            "conversation_id": conversation_id,
            "seq": seq + i,
            "role": row["role"],
            "text": row.get("text", ""),
            "client_id": row.get("client_id"),
            "reply_to": row.get("reply_to"),
            "citations": row.get("citations") or [],
            "payload": row.get("payload"),
            "created_at": now,
        }
        for i, row in enumerate(rows, start=1)
    ]
    await insert(session, Message, values)
    return _objects(Message, values)


async def claim_turn(
    session: AsyncSession, conversation_id: str, holder: str, *, ttl_s: float
) -> bool:
    """leases.claim_turn: the lease is free, lapsed or already this holder's."""
    driver = await _driver(session)
    now = utcnow()
    changed = await driver.execute(
        "UPDATE conversations SET turn_holder = $2, turn_until = $3, updated_at = $4 "
        "WHERE id = $1 AND (turn_holder IS NULL OR turn_holder = $2 OR turn_until < $4)",
        [conversation_id, holder, driver.time(now + timedelta(seconds=ttl_s)), driver.time(now)],
    )
    return changed == 1


async def claim_conversation(
    session: AsyncSession, conversation_id: str, holder: str, *, ttl_s: float
) -> Conversation | None:
    """claim_turn and the conversation's row in one statement: the row as the claim left it,
    or None when another holder has the lease (or there is no such conversation)."""
    driver = await _driver(session)
    table = Conversation.__table__
    now = utcnow()
    rows = await driver.fetch(
        "UPDATE conversations SET turn_holder = $2, turn_until = $3, updated_at = $4 "
        "WHERE id = $1 AND (turn_holder IS NULL OR turn_holder = $2 OR turn_until < $4) "
        f"RETURNING {_columns(table)}",
        [conversation_id, holder, driver.time(now + timedelta(seconds=ttl_s)), driver.time(now)],
    )
    found = _detached(Conversation, table, driver, rows)
    return found[0] if found else None


async def release_turn(session: AsyncSession, conversation_id: str, holder: str) -> None:
    driver = await _driver(session)
    await driver.execute(
        "UPDATE conversations SET turn_holder = NULL, turn_until = NULL, updated_at = $3 "
        "WHERE id = $1 AND turn_holder = $2",
        [conversation_id, holder, driver.time(utcnow())],
    )


async def finish_turn(
    session: AsyncSession,
    conversation_id: str,
    *,
    version: int,
    engine_state: dict[str, Any] | None = KEEP,
    release_holder: str | None = None,
) -> int | None:
    """repo.finish_turn (the compare-and-set on owner_version, the engine state, the turn
    lease given back) in one statement that also returns the conversation's last message seq,
    for the reply's rows (append_messages' after_seq). None, and nothing changed, when someone
    changed the owner since `version`."""
    driver = await _driver(session)
    args: list[Any] = [conversation_id, version, driver.time(utcnow())]
    sets = ["updated_at = $3"]
    if engine_state is not KEEP:
        args.append(driver.write(JSON(), engine_state))
        sets.append(f"engine_state = ${len(args)}")
    if release_holder is not None:
        args.append(release_holder)
        mine = f"turn_holder = ${len(args)}"
        sets.append(f"turn_holder = CASE WHEN {mine} THEN NULL ELSE turn_holder END")
        sets.append(f"turn_until = CASE WHEN {mine} THEN NULL ELSE turn_until END")
    rows = await driver.fetch(
        f"UPDATE conversations SET {', '.join(sets)} WHERE id = $1 AND owner_version = $2 "
        "RETURNING (SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = $1)",
        args,
    )
    return int(rows[0][0]) if rows else None


async def add_outcomes(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    """Outcome events (storage/outcomes.py record's fields) in one INSERT."""
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "conversation_id": e.get("conversation_id"),
            "kind": str(e["kind"]),
            "score": e.get("score"),
            "detail": e.get("detail") or {},
            "channel": e["channel"],
            "staff_id": e.get("staff_id"),
            "created_at": e.get("created_at") or now,
        }
        for e in events
    ]
    await insert(session, OutcomeEvent, rows)


async def add_audit(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Audit rows, masked already (repo.audit_row), in one INSERT."""
    now = utcnow()
    await insert(
        session,
        AuditEntry,
        [
            {
                "conversation_id": r.get("conversation_id"),
                "actor": r["actor"],
                "tool": r["tool"],
                "kind": r["kind"],
                "args": r.get("args") or {},
                "ok": r["ok"],
                "decision": r.get("decision"),
                "result": r.get("result") or "",
                "created_at": now,
            }
            for r in rows
        ],
    )
