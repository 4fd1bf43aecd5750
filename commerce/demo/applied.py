"""Exactly-once writes on the demo store: an applied-operations table and BEGIN IMMEDIATE.

Each write runs as one SQLite transaction that starts with `BEGIN IMMEDIATE`, so it holds the
write lock from its first read: looking the key up, changing the rows and recording the key
cannot interleave with another writer, in this process or another one. The key's row is
inserted in that same transaction, so the change and the record of it commit together or not
at all; a caller that retries after a crash between commit and reply gets the stored result.

If two writers still collide (a writer that did not use BEGIN IMMEDIATE, or a busy timeout),
the primary key on `applied_operations.key` refuses the second insert; the loser rolls back
and re-reads the winner's result on its next attempt."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection, event, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from commerce.demo import schema as t
from errors import BackendError

M = TypeVar("M", bound=BaseModel)

ATTEMPTS = 8
BUSY_TIMEOUT_S = 10.0


def make_writer_engine(url: str) -> AsyncEngine:
    """An engine whose transactions begin with BEGIN IMMEDIATE.

    pysqlite (and so aiosqlite) defers BEGIN to the first write and never takes the lock up
    front; with its own transaction handling turned off we emit the BEGIN ourselves. Readers
    keep their own engine: this one is only for writes."""
    engine = create_async_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine.sync_engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _run_once(
    conn: Connection,
    *,
    kind: str,
    key: str,
    target: str,
    now: datetime,
    operation: Callable[[Connection], BaseModel],
) -> str:
    stored = conn.execute(
        select(t.applied_operations).where(t.applied_operations.c.key == key)
    ).first()
    if stored is not None:
        if (stored.kind, stored.target) != (kind, target):
            raise BackendError(
                f"idempotency key already used for {stored.kind} on {stored.target}, "
                f"not {kind} on {target}"
            )
        return str(stored.result)
    result = operation(conn).model_dump_json()
    conn.execute(
        insert(t.applied_operations).values(
            key=key, kind=kind, target=target, result=result, applied_at=now
        )
    )
    return result


def _is_busy(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


async def apply_once(
    writer: AsyncEngine,
    *,
    kind: str,
    key: str,
    target: str,
    now: datetime,
    operation: Callable[[Connection], M],
    result_type: type[M],
) -> M:
    """Run `operation` at most once for `key`; every call returns the first call's result.

    `operation` is a sync function over the open transaction. It raises BackendError to refuse
    (nothing is written, nothing recorded) and returns the model to hand back."""
    if not key:
        raise BackendError("a write needs an idempotency key")
    conflict: IntegrityError | None = None
    for attempt in range(ATTEMPTS):
        try:
            async with writer.begin() as conn:
                result = await conn.run_sync(
                    lambda sync_conn: _run_once(
                        sync_conn, kind=kind, key=key, target=target, now=now, operation=operation
                    )
                )
            return result_type.model_validate_json(result)
        except IntegrityError as exc:
            conflict = exc  # another writer recorded this key first: the next attempt replays it
        except OperationalError as exc:
            if not _is_busy(exc):
                raise BackendError(f"demo store write failed: {exc.orig}") from exc
            conflict = None
            await asyncio.sleep(0.01 * 2**attempt)
    if conflict is not None:  # not a key race: some other constraint refuses this write
        raise BackendError(f"demo store refused the write: {conflict.orig}") from conflict
    raise BackendError("the demo store is busy; try again", retryable=True)
