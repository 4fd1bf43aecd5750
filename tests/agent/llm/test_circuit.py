"""The circuit breaker: its back-off and half-open trial in one process, and its state shared by
two workers through one Redis (SUPPORT_REDIS_URL), as two breakers on the same key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from agent.llm_circuit import CircuitBreaker, RedisCircuitStore, build_circuit
from settings import Settings

REDIS_URL = "redis://127.0.0.1:6379/0"


async def _walk_the_states(circuit: CircuitBreaker, now: dict[str, float]) -> None:
    assert await circuit.allow()
    await circuit.failure()
    assert await circuit.state() == "closed" and await circuit.allow()
    await circuit.failure()
    assert await circuit.state() == "open" and not await circuit.allow()
    now["t"] += 10
    assert await circuit.allow()  # one trial
    assert not await circuit.allow()  # and only one
    await circuit.failure()  # the trial failed: open twice as long
    assert await circuit.state() == "open" and await circuit.backoff_s() == 20
    now["t"] += 19
    assert not await circuit.allow()
    now["t"] += 1
    assert await circuit.allow()
    await circuit.failure()
    assert await circuit.backoff_s() == 25  # capped
    now["t"] += 25
    assert await circuit.allow()
    await circuit.success()
    assert await circuit.state() == "closed" and await circuit.allow()
    assert (await circuit.store.snapshot()).failures == 0


async def test_circuit_breaker_backs_off_and_half_opens() -> None:
    now = {"t": 1000.0}
    circuit = CircuitBreaker(failures_to_open=2, base_s=10, max_s=25, clock=lambda: now["t"])
    await _walk_the_states(circuit, now)


@pytest.fixture
async def redis_key() -> AsyncIterator[str]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc!r}")
    key = f"test:llm-circuit:{uuid.uuid4().hex}"
    yield key
    await client.delete(key)
    await client.aclose()


def _breaker(key: str, now: dict[str, float], **kw: float) -> CircuitBreaker:
    return CircuitBreaker(
        failures_to_open=2,
        base_s=10,
        max_s=25,
        clock=lambda: now["t"],
        store=RedisCircuitStore(REDIS_URL, key=key),
        **kw,
    )


async def test_the_same_rules_hold_with_the_state_in_redis(redis_key: str) -> None:
    now = {"t": 1000.0}
    circuit = _breaker(redis_key, now)
    try:
        await _walk_the_states(circuit, now)
    finally:
        await circuit.aclose()


async def test_two_workers_share_one_circuit_through_redis(redis_key: str) -> None:
    now = {"t": 1000.0}
    worker_a, worker_b = _breaker(redis_key, now), _breaker(redis_key, now)
    try:
        await worker_a.failure()
        await worker_b.failure()  # two failures in a row, one in each worker: open
        assert await worker_a.state() == "open" and await worker_b.state() == "open"
        assert not await worker_a.allow() and not await worker_b.allow()
        now["t"] += 10
        # the back-off has passed: one trial across both workers, not one each
        assert await worker_b.allow()
        assert not await worker_a.allow()
        await worker_b.success()  # the trial worked: closed for both
        assert await worker_a.state() == "closed" and await worker_a.allow()
        # one worker's failures count toward the other's threshold again
        await worker_a.failure()
        assert await worker_b.state() == "closed"
        await worker_b.failure()
        assert not await worker_a.allow()
    finally:
        await worker_a.aclose()
        await worker_b.aclose()


async def test_a_trial_whose_worker_died_is_retried_after_its_lease(redis_key: str) -> None:
    now = {"t": 1000.0}
    worker_a = _breaker(redis_key, now, trial_lease_s=60)
    worker_b = _breaker(redis_key, now, trial_lease_s=60)
    try:
        await worker_a.failure()
        await worker_a.failure()
        now["t"] += 10
        assert await worker_a.allow()  # worker A takes the trial and never reports back
        now["t"] += 59
        assert not await worker_b.allow()
        now["t"] += 1
        assert await worker_b.allow()
    finally:
        await worker_a.aclose()
        await worker_b.aclose()


async def test_an_unreachable_redis_never_stops_a_call() -> None:
    circuit = CircuitBreaker(store=RedisCircuitStore("redis://127.0.0.1:1/0", key="k"))
    try:
        assert await circuit.allow()
        await circuit.failure()
        await circuit.success()
    finally:
        await circuit.aclose()


def test_the_settings_pick_the_store(settings: Settings) -> None:
    alone = build_circuit(settings.model_copy(update={"redis_url": None}))
    shared = build_circuit(settings.model_copy(update={"redis_url": REDIS_URL}))
    assert type(alone.store).__name__ == "MemoryCircuitStore"
    assert isinstance(shared.store, RedisCircuitStore)
    assert shared.store.key.endswith(":gpt-4o-mini")
