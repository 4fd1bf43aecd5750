"""The chat's message and connection rates counted in memory by one process without Redis
(storage/throttle.py `MemoryThrottle`): the same verdicts as the database throttle, bounded
memory, no database row per message, while verification lock-outs stay in the database and
outlive a restart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from server import create_app
from services import build_services
from settings import Settings
from storage.tables_security import ThrottleHit
from storage.throttle import MemoryThrottle, SqlThrottle, build_rate_throttle
from tests.fakes import CannedKnowledge, MemoryStore
from tools.identity import NOT_VERIFIED

PEER = ("203.0.113.61", 40000)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_key_gets_limit_events_per_window_and_refusals_are_not_counted() -> None:
    clock = Clock()
    throttle = MemoryThrottle(secret=b"s", clock=clock)
    key = throttle.key("chat:message", "198.51.100.1")
    verdicts = []
    for _ in range(3):
        verdicts.append(await throttle.hit(key, limit=3, window_s=60))
        clock.now += 10
    assert [(v.allowed, v.count) for v in verdicts] == [(True, 1), (True, 2), (True, 3)]
    for _ in range(5):  # a flood of refusals does not push the window further out
        refused = await throttle.hit(key, limit=3, window_s=60)
        assert not refused.allowed and refused.count == 3
    # the first event (t=0) leaves the window at t=60; now is t=30
    assert refused.retry_after_s == pytest.approx(30.0)
    assert refused.retry_after == 30
    assert await throttle.count(key, window_s=60) == 3
    clock.now += 30.001  # just past the first event's window
    again = await throttle.hit(key, limit=3, window_s=60)
    assert again.allowed and again.count == 3
    other = await throttle.hit(throttle.key("chat:message", "198.51.100.2"), limit=3, window_s=60)
    assert other.allowed and other.count == 1  # keys count apart
    await throttle.reset(key)
    assert await throttle.count(key, window_s=60) == 0


async def test_it_gives_the_same_verdicts_as_the_database_throttle(settings: Settings) -> None:
    from storage.engine import make_engine, make_sessionmaker
    from storage.migrate import upgrade

    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    await upgrade(engine)
    try:
        clock = Clock()
        sql = SqlThrottle(make_sessionmaker(engine), secret=b"s", clock=clock)
        memory = MemoryThrottle(secret=b"s", clock=clock)
        steps = [0, 1, 1, 5, 20, 0.5, 40, 3, 30, 60, 1]
        seen: list[tuple[Any, Any]] = []
        for step in steps:
            clock.now += step
            a = await sql.hit("k", limit=3, window_s=60)
            b = await memory.hit("k", limit=3, window_s=60)
            seen.append(
                (
                    (a.allowed, a.count, round(a.retry_after_s, 3)),
                    (b.allowed, b.count, round(b.retry_after_s, 3)),
                )
            )
        assert all(a == b for a, b in seen), seen
        assert any(not a[0] for a, _ in seen)  # the sequence did reach the limit
    finally:
        await engine.dispose()


async def test_memory_is_bounded_and_expired_keys_are_pruned() -> None:
    clock = Clock()
    throttle = MemoryThrottle(secret=b"s", clock=clock, max_keys=50, prune_every=10_000)
    for n in range(200):  # a flood of addresses
        await throttle.hit(f"ip:{n}", limit=5, window_s=60)
    assert len(throttle) == 50
    assert await throttle.count("ip:199", window_s=60) == 1  # the most recent are kept
    assert await throttle.count("ip:0", window_s=60) == 0  # the least recent went first
    clock.now += 61
    await throttle.hit("fresh", limit=5, window_s=60)
    # "fresh" took the place of the oldest; pruning drops every key whose events all left
    assert await throttle.prune() == 49
    assert len(throttle) == 1
    # pruning also runs by itself every `prune_every` hits
    small = MemoryThrottle(secret=b"s", clock=clock, prune_every=3)
    await small.hit("a", limit=5, window_s=1)
    clock.now += 2
    await small.hit("b", limit=5, window_s=1)
    await small.hit("c", limit=5, window_s=1)
    assert len(small) == 2


def test_with_redis_the_rates_use_the_shared_throttle() -> None:
    shared = MemoryThrottle(secret=b"s")  # stands for the Redis throttle every worker shares
    assert build_rate_throttle(shared, secret=b"s", redis_url="redis://127.0.0.1:6379/0") is shared
    alone = build_rate_throttle(shared, secret=b"s", redis_url=None)
    assert isinstance(alone, MemoryThrottle) and alone is not shared


@pytest.fixture
def clients(tmp_path: Path, embedder: Any, triager: Any) -> Iterator[Callable[..., TestClient]]:
    """TestClients over one data dir: a second one is the server restarted."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            settings = Settings(env="test", data_dir=tmp_path / "data", demo=False, **overrides)

            async def build() -> Any:
                return await build_services(
                    settings,
                    embedder=embedder,
                    triager=triager,
                    store=MemoryStore(),
                    knowledge=CannedKnowledge(),
                )

            return stack.enter_context(TestClient(create_app(settings, build=build), client=PEER))

        yield make


def throttle_rows(client: TestClient) -> list[str]:
    settings = client.app.state.services.settings  # type: ignore[attr-defined]
    engine = create_engine(f"sqlite:///{settings.data_dir / 'support.db'}")
    with engine.connect() as conn:
        keys = [str(k) for k in conn.execute(select(ThrottleHit.key)).scalars()]
        assert conn.execute(select(func.count()).select_from(ThrottleHit)).scalar_one() == len(keys)
    engine.dispose()
    return keys


def test_messages_write_no_throttle_rows_but_lock_outs_survive_a_restart(
    clients: Callable[..., TestClient],
) -> None:
    first = clients(messages_per_ip_per_min=7)
    with first.websocket_connect("/ws/chat") as ws:  # a socket and a message: memory only
        ws.send_json({"type": "message", "text": "hi"})
        while ws.receive_json()["type"] != "message":
            pass
    for i in range(5):  # five wrong guesses lock this client out (verify_failure_limit)
        body = {"text": f"where is my order #{1001 + i % 3}? zip 0000{i}"}
        assert NOT_VERIFIED in first.post("/api/chat", json=body).json()["reply"]
    assert first.post("/api/chat", json={"text": "hi"}).status_code == 200  # the 7th
    assert first.post("/api/chat", json={"text": "hi"}).status_code == 429
    keys = throttle_rows(first)
    assert not any(k.startswith("chat:") for k in keys)  # no row per message or socket
    assert sum(k.startswith("verify:ip:") for k in keys) == 5  # the failures are rows
    first.__exit__(None, None, None)

    restarted = clients(messages_per_ip_per_min=7)
    # the message rate started again with the process (one minute's budget, by design) ...
    right = restarted.post("/api/chat", json={"text": "where is my order #1002? zip 97201"})
    assert right.status_code == 200
    # ... the lock-out did not: the right details are still refused to this client
    assert NOT_VERIFIED in right.json()["reply"]
    assert not any(c["name"] == "verify_customer" and c["ok"] for c in right.json()["tool_calls"])
