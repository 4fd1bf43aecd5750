"""The throttle (storage/throttle.py) on each backend: SQLite, PostgreSQL and Redis, one suite.
Time is a hand-moved clock, so windows slide without sleeping."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select

from storage.engine import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.tables_security import ThrottleHit
from storage.throttle import (
    UNLIMITED,
    MemoryThrottle,
    RedisThrottle,
    SqlThrottle,
    Throttle,
    build_throttle,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_ADMIN = os.environ.get(
    "SUPPORT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
SECRET = b"test-throttle-secret"
START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class Backend:
    """A throttle plus what the tests need to look behind it."""

    def __init__(self, throttle: Throttle, stored_keys: Any, clock: Clock) -> None:
        self.throttle = throttle
        self.stored_keys = stored_keys  # async () -> list of raw stored keys
        self.clock = clock


async def _sql_backend(url: str, clock: Clock, **kwargs: Any) -> tuple[Backend, Any]:
    engine = make_engine(url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    throttle = SqlThrottle(sessions, secret=SECRET, clock=clock, **kwargs)

    async def stored_keys() -> list[str]:
        async with sessions() as session:
            return list((await session.scalars(select(ThrottleHit.key))).all())

    return Backend(throttle, stored_keys, clock), engine


@asynccontextmanager
async def _postgres_database() -> AsyncIterator[str]:
    """A throw-away database on the PostgreSQL server (as tests/storage/conftest.py makes)."""
    name = f"sa_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN}: {exc!r}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = POSTGRES_ADMIN.rsplit("/", 1)[0].split("://", 1)[1]
        yield f"postgresql+asyncpg://{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=["sqlite", "postgres", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    clock = Clock()
    if request.param == "redis":
        client = Redis.from_url(REDIS_URL)
        try:
            await client.ping()
        except (OSError, RedisError) as exc:
            pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc!r}")
        prefix = f"sa-test-{uuid.uuid4().hex[:10]}:"

        async def stored_keys() -> list[str]:
            found = [k.decode() async for k in client.scan_iter(match=prefix + "*")]
            return [k.removeprefix(prefix) for k in found]

        throttle = RedisThrottle(client, secret=SECRET, clock=clock, prefix=prefix)
        try:
            yield Backend(throttle, stored_keys, clock)
        finally:
            async for key in client.scan_iter(match=prefix + "*"):
                await client.delete(key)
            await throttle.close()
        return
    if request.param == "postgres":
        async with _postgres_database() as url:
            built, engine = await _sql_backend(url, clock)
            try:
                yield built
            finally:
                await engine.dispose()
        return
    built, engine = await _sql_backend(f"sqlite+aiosqlite:///{tmp_path / 'throttle.db'}", clock)
    try:
        yield built
    finally:
        await engine.dispose()


async def test_allows_up_to_the_limit_then_refuses_until_the_window_slides(
    backend: Backend,
) -> None:
    throttle, clock = backend.throttle, backend.clock
    key = throttle.key("test:ip", "203.0.113.5")
    verdicts = []
    for _ in range(3):
        verdicts.append(await throttle.hit(key, limit=3, window_s=60))
        clock.now += 10
    assert [(v.allowed, v.count) for v in verdicts] == [(True, 1), (True, 2), (True, 3)]
    refused = await throttle.hit(key, limit=3, window_s=60)  # at START + 30
    # room again when the first hit (at START) leaves the window: 30 s from now
    assert not refused.allowed and refused.count == 3
    assert refused.retry_after_s == pytest.approx(30, abs=0.01) and refused.retry_after == 30
    assert await throttle.count(key, window_s=60) == 3  # the refused hit was not recorded
    clock.now = START + 60.5
    again = await throttle.hit(key, limit=3, window_s=60)
    assert again.allowed and again.count == 3  # the first left the window, this one came in
    assert await throttle.count(key, window_s=60) == 3


async def test_retry_after_counts_the_events_that_must_leave(backend: Backend) -> None:
    throttle, clock = backend.throttle, backend.clock
    key = throttle.key("test:msg", "x")
    for _ in range(5):
        await throttle.hit(key, limit=5, window_s=100)
        clock.now += 1
    # with the limit lowered to 2, four events must leave: the 4th oldest went in at START + 3
    refused = await throttle.hit(key, limit=2, window_s=100)
    assert not refused.allowed and refused.count == 5
    assert refused.retry_after_s == pytest.approx(START + 3 + 100 - clock.now, abs=0.01)


async def test_keys_are_independent_and_reset_clears_one(backend: Backend) -> None:
    throttle = backend.throttle
    a, b = throttle.key("test:order", "#1043"), throttle.key("test:order", "#1044")
    assert a != b and a == throttle.key("test:order", "#1043")
    for _ in range(2):
        await throttle.hit(a, limit=2, window_s=3600)
    assert not (await throttle.hit(a, limit=2, window_s=3600)).allowed
    assert (await throttle.hit(b, limit=2, window_s=3600)).allowed
    await throttle.reset(a)
    assert await throttle.count(a, window_s=3600) == 0
    assert await throttle.count(b, window_s=3600) == 1
    assert (await throttle.hit(a, limit=2, window_s=3600)).allowed


async def test_counts_reads_several_keys_at_once(backend: Backend) -> None:
    """What a verification checks (order, email, IP) in one round trip, each key's own count,
    in the order asked, a key with no events 0, an event that left the window not counted."""
    throttle = backend.throttle
    order, email, ip = (throttle.key("test:verify", v) for v in ("#1043", "a@b.c", "10.0.0.1"))
    for _ in range(3):
        await throttle.hit(order, limit=100, window_s=600)
    backend.clock.now += 400
    await throttle.hit(email, limit=100, window_s=600)
    assert await throttle.counts([ip, order, email], window_s=600) == [0, 3, 1]
    assert await throttle.counts([order, email], window_s=300) == [0, 1]
    assert await throttle.counts([], window_s=600) == []


async def test_stored_keys_reveal_no_personal_data(backend: Backend) -> None:
    throttle = backend.throttle
    await throttle.hit(throttle.key("verify:email", "ada@example.com"), limit=5, window_s=60)
    await throttle.hit(throttle.key("verify:ip", "198.51.100.23"), limit=5, window_s=60)
    stored = await backend.stored_keys()
    assert len(set(stored)) == 2
    assert {k.split(":")[0] + ":" + k.split(":")[1] for k in stored} == {
        "verify:email",
        "verify:ip",
    }
    assert not any("ada" in k or "example" in k or "198.51" in k for k in stored)


async def test_concurrent_hits_never_exceed_the_limit(backend: Backend) -> None:
    throttle = backend.throttle
    key = throttle.key("test:race", "one")
    verdicts = await asyncio.gather(
        *(throttle.hit(key, limit=5, window_s=60) for _ in range(20))
    )
    assert sum(v.allowed for v in verdicts) == 5
    assert await throttle.count(key, window_s=60) == 5


async def test_unlimited_keys_only_count(backend: Backend) -> None:
    throttle = backend.throttle
    key = throttle.key("test:all", "store")
    for _ in range(30):
        assert (await throttle.hit(key, limit=UNLIMITED, window_s=60)).allowed
    assert await throttle.count(key, window_s=60) == 30


async def test_sql_rows_older_than_every_window_are_pruned(tmp_path: Path) -> None:
    clock = Clock()
    built, engine = await _sql_backend(
        f"sqlite+aiosqlite:///{tmp_path / 't.db'}", clock, retain_s=3600, prune_every=10
    )
    try:
        throttle = built.throttle
        for i in range(9):
            await throttle.hit(throttle.key("test:old", str(i)), limit=5, window_s=60)
        assert len(await built.stored_keys()) == 9
        clock.now += 3601
        # pruning runs on the 1st write, then every 10th: the 10th write does not, the 11th does
        await throttle.hit(throttle.key("test:new", "a"), limit=5, window_s=60)
        assert len(await built.stored_keys()) == 10
        await throttle.hit(throttle.key("test:new", "b"), limit=5, window_s=60)
        assert sorted(k.split(":")[1] for k in await built.stored_keys()) == ["new", "new"]
        await throttle.hit(throttle.key("test:new", "c"), limit=5, window_s=60)
        clock.now += 3601
        assert await throttle.prune() == 3
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(ThrottleHit)) == 0
    finally:
        await engine.dispose()


async def test_redis_keys_expire_by_themselves() -> None:
    client = Redis.from_url(REDIS_URL)
    prefix = f"sa-test-{uuid.uuid4().hex[:10]}:"
    throttle = RedisThrottle(client, secret=SECRET, prefix=prefix)
    try:
        key = throttle.key("test:ttl", "x")
        await throttle.hit(key, limit=5, window_s=90)
        ttl_ms = await client.pttl(prefix + key)
        assert 0 < ttl_ms <= 90_000
    finally:
        await client.delete(prefix + throttle.key("test:ttl", "x"))
        await throttle.close()


async def test_build_throttle_chooses_redis_when_configured(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    sessions = make_sessionmaker(engine)
    try:
        assert isinstance(build_throttle(sessions=sessions, secret=SECRET), SqlThrottle)
        chosen = build_throttle(sessions=sessions, secret=SECRET, redis_url=REDIS_URL)
        assert isinstance(chosen, RedisThrottle)
        await chosen.close()
    finally:
        await engine.dispose()


async def test_memory_throttle_counts_like_count() -> None:
    clock = Clock()
    throttle = MemoryThrottle(secret=SECRET, clock=clock)
    a, b = throttle.key("test:msg", "1"), throttle.key("test:msg", "2")
    await throttle.hit(a, limit=10, window_s=60)
    clock.now += 30
    await throttle.hit(a, limit=10, window_s=60)
    assert await throttle.counts([a, b], window_s=60) == [2, 0]
    assert await throttle.counts([a, b], window_s=20) == [1, 0]
