"""The inline SQLite driver (storage/sqlite_inline.py): reads and the statements of a write
transaction run on the event loop, what can wait (BEGIN IMMEDIATE, COMMIT) runs on a worker
thread, and the data is what aiosqlite would have stored."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from storage.engine import make_engine, make_sessionmaker


class OffLoop:
    """Counts the calls sent to the loop's default executor."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        loop = asyncio.get_running_loop()
        original = loop.run_in_executor

        def counted(executor: Any, func: Any, *args: Any) -> Any:
            self.calls.append(getattr(func, "func", func).__name__)
            return original(executor, func, *args)

        monkeypatch.setattr(loop, "run_in_executor", counted)


async def _engine(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    return engine


async def test_reads_and_writes_in_a_write_transaction_stay_on_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = await _engine(tmp_path)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:  # the pool's connection exists before counting
            await session.execute(text("SELECT 1"))
        off = OffLoop(monkeypatch)
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO t (v) VALUES ('a'), ('b')"))
            await session.execute(text("UPDATE t SET v = 'c' WHERE v = 'b'"))
            rows = (await session.execute(text("SELECT v FROM t ORDER BY id"))).all()
        assert [r.v for r in rows] == ["a", "c"]
        # BEGIN IMMEDIATE and COMMIT only: the three statements ran inline
        assert off.calls == ["execute", "commit"]
        off.calls.clear()
        async with sessions() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 2
        assert off.calls == []
    finally:
        await engine.dispose()
    # committed for good: another connection (the sqlite3 module itself) sees the rows
    with sqlite3.connect(tmp_path / "inline.db") as raw:
        assert raw.execute("SELECT v FROM t ORDER BY id").fetchall() == [("a",), ("c",)]


async def test_a_write_outside_a_write_transaction_goes_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = await _engine(tmp_path)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            off = OffLoop(monkeypatch)
            # a deferred transaction's first write may wait for another writer's lock
            await conn.execute(text("INSERT INTO t (v) VALUES ('x')"))
            await conn.rollback()
            assert off.calls == ["execute"]
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_waiting_for_another_process_writer_does_not_block_the_loop(
    tmp_path: Path,
) -> None:
    engine = await _engine(tmp_path)
    sessions = make_sessionmaker(engine)
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
    other.execute("INSERT INTO t (v) VALUES ('first')")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while ticks < 5:
            await asyncio.sleep(0.01)
            ticks += 1
        other.execute("COMMIT")  # only reachable while the loop runs

    async def write() -> None:
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO t (v) VALUES ('second')"))

    try:
        await asyncio.gather(ticker(), write())
        async with sessions() as session:
            values = (await session.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
        assert values == ["first", "second"]
        assert ticks == 5
    finally:
        other.close()
        await engine.dispose()


async def test_a_failed_statement_rolls_back_and_the_connection_stays_usable(
    tmp_path: Path,
) -> None:
    engine = await _engine(tmp_path)
    sessions = make_sessionmaker(engine)
    try:
        with pytest.raises(Exception, match="no such table"):
            async with sessions.begin() as session:
                await session.execute(text("INSERT INTO t (v) VALUES ('gone')"))
                await session.execute(text("SELECT * FROM missing"))
        async with sessions.begin() as session:
            await session.execute(text("INSERT INTO t (v) VALUES ('kept')"))
        async with sessions() as session:
            values = (await session.execute(text("SELECT v FROM t"))).scalars().all()
        assert values == ["kept"]
    finally:
        await engine.dispose()
