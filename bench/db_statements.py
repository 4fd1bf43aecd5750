"""CPU per database operation of a chat turn: through the project's storage layer (SQLAlchemy's
async session, as the turn ran them before storage/fastpath.py), through the fast path (the
driver connection under the same session's transaction, as the turn runs them now) and the same
SQL straight through the driver.

    .venv/bin/python -m bench.db_statements                      # PostgreSQL and SQLite
    .venv/bin/python -m bench.db_statements --only sqlite --rounds 1000

PostgreSQL: a scratch database `bench_db_statements` on 127.0.0.1:5432 (trust auth) is created
and dropped; SQLite: a file in a temporary directory. Each operation opens its own session or
transaction, as a turn's transactions do; the figure is process CPU (time.process_time) per
operation, the median of 5 rounds, after a warm-up. It says what the storage layer costs beside
the statement itself, which is where a chat turn's CPU goes on the two-worker PostgreSQL setup
(docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "bench_db_statements"
Op = Callable[[], Awaitable[Any]]


async def _cpu_per_op(op: Op, rounds: int) -> float:
    for _ in range(max(20, rounds // 10)):
        await op()
    samples = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(rounds):
            await op()
        samples.append((time.process_time() - start) / rounds * 1000)
    return statistics.median(samples)


async def _layer_ops(
    url: str,
) -> tuple[dict[str, Op], dict[str, Op], str, Callable[[], Awaitable[None]]]:
    """The storage layer's operations over a fresh schema (through the session's statements,
    then through the fast path), and one conversation's id."""
    from sqlalchemy import update

    from storage import fastpath, migrate, repo
    from storage.engine import Sessions, make_engine
    from storage.tables import Conversation

    engine = make_engine(url)
    await migrate.upgrade(engine)
    sessions = Sessions.for_engine(engine)
    async with sessions.begin() as session:
        conversation = await repo.create_conversation(session, channel="web")
        rows = [{"role": "customer", "text": "where is my order " * 3} for _ in range(8)]
        await repo.append_messages(session, conversation.id, rows)
    cid = conversation.id

    async def empty_write() -> None:
        async with sessions.begin():
            pass

    async def get_conversation() -> None:
        async with sessions.begin() as session:
            await repo.get_conversation(session, cid)

    async def finish() -> None:  # the Core statement repo.finish_turn ran before the fast path
        async with sessions.begin() as session:
            await session.execute(
                update(Conversation)
                .where(Conversation.id == cid, Conversation.owner_version == 0)
                .values(engine_state={"flow": None})
                .execution_options(synchronize_session=False)
            )

    async def history() -> None:
        async with sessions.begin() as session:
            await repo.history(session, cid, limit=60)

    async def fast_conversation() -> None:
        async with sessions.begin() as session:
            await fastpath.conversation(session, cid)

    async def fast_window() -> None:
        async with sessions.begin() as session:
            await fastpath.window(session, cid, limit=60)

    async def fast_finish() -> None:
        async with sessions.begin() as session:
            await fastpath.finish_turn(session, cid, version=0, engine_state={"flow": None})

    ops = {
        "write transaction, no statement": empty_write,
        "conversation row (transaction + 1 SELECT)": get_conversation,
        "message window, 8 rows (transaction + 1 SELECT)": history,
        "reply compare-and-set (transaction + 1 UPDATE)": finish,
    }
    fast = {
        "write transaction, no statement": empty_write,
        "conversation row (transaction + 1 SELECT)": fast_conversation,
        "message window, 8 rows (transaction + 1 SELECT)": fast_window,
        "reply compare-and-set (transaction + 1 UPDATE)": fast_finish,
    }
    return ops, fast, cid, engine.dispose


async def _pg_raw_ops(cid: str) -> tuple[dict[str, Op], Callable[[], Awaitable[None]]]:
    import asyncpg

    pool = await asyncpg.create_pool(
        f"postgresql://postgres@127.0.0.1:5432/{PG_DB}", min_size=1, max_size=2
    )

    async def run(sql: str | None, *args: Any, fetch: bool = False) -> int:
        async with pool.acquire() as con, con.transaction():
            if sql is None:
                return 0
            if fetch:
                return len(await con.fetch(sql, *args))
            return int((await con.execute(sql, *args)).split()[-1])  # "UPDATE 1"

    ops: dict[str, Op] = {
        "write transaction, no statement": lambda: run(None),
        "conversation row (transaction + 1 SELECT)": lambda: run(
            "SELECT * FROM conversations WHERE id = $1", cid, fetch=True
        ),
        "message window, 8 rows (transaction + 1 SELECT)": lambda: run(
            "SELECT * FROM messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT 60",
            cid,
            fetch=True,
        ),
        "reply compare-and-set (transaction + 1 UPDATE)": lambda: run(
            "UPDATE conversations SET engine_state = $2::json, updated_at = now() "
            "WHERE id = $1 AND owner_version = 0",
            cid,
            '{"flow": null}',
        ),
    }
    return ops, pool.close


def _sqlite_raw_ops(path: Path, cid: str) -> tuple[dict[str, Op], Callable[[], Awaitable[None]]]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")

    def run(sql: str | None, *args: Any) -> Op:
        async def op() -> int:
            conn.execute("BEGIN IMMEDIATE")
            n = 0
            if sql is not None:
                cursor = conn.execute(sql, args)
                n = len(cursor.fetchall()) or max(cursor.rowcount, 0)
            conn.execute("COMMIT")
            return n

        return op

    ops = {
        "write transaction, no statement": run(None),
        "conversation row (transaction + 1 SELECT)": run(
            "SELECT * FROM conversations WHERE id = ?", cid
        ),
        "message window, 8 rows (transaction + 1 SELECT)": run(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 60", cid
        ),
        "reply compare-and-set (transaction + 1 UPDATE)": run(
            "UPDATE conversations SET engine_state = ?, updated_at = CURRENT_TIMESTAMP "
            "WHERE id = ? AND owner_version = 0",
            '{"flow": null}',
            cid,
        ),
    }

    async def close() -> None:
        conn.close()

    return ops, close


async def _measure(database: str, rounds: int) -> list[dict[str, Any]]:
    if database == "postgres":
        import asyncpg

        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
        await admin.execute(f"CREATE DATABASE {PG_DB}")
        await admin.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"
        tmp = None
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench-db-")
        path = Path(tmp.name) / "support.db"
        url = f"sqlite+aiosqlite:///{path}"
    layer, fast, cid, dispose = await _layer_ops(url)
    if database == "postgres":
        raw, close = await _pg_raw_ops(cid)
    else:
        raw, close = _sqlite_raw_ops(path, cid)
    out = []
    try:
        for name, op in layer.items():
            out.append(
                {
                    "database": database,
                    "operation": name,
                    "storage_layer_ms": round(await _cpu_per_op(op, rounds), 3),
                    "fast_path_ms": round(await _cpu_per_op(fast[name], rounds), 3),
                    "driver_ms": round(await _cpu_per_op(raw[name], rounds), 3),
                    # rows the driver's statement read or changed: the same work as the layer's
                    "driver_rows": await raw[name](),
                }
            )
    finally:
        await close()
        await dispose()
        if database == "postgres":
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            await admin.close()
        elif tmp is not None:
            tmp.cleanup()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["postgres", "sqlite"])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    databases = [args.only] if args.only else ["postgres", "sqlite"]
    rows = [row for db in databases for row in asyncio.run(_measure(db, args.rounds))]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        "| database | operation | storage layer, ms CPU | fast path, ms CPU "
        "| driver alone, ms CPU |"
    )
    print("|---|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['database']} | {row['operation']} | {row['storage_layer_ms']} "
            f"| {row['fast_path_ms']} | {row['driver_ms']} |"
        )


if __name__ == "__main__":
    main()
