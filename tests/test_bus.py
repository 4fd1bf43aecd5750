"""The bus: in-process, and across processes through a real Redis (127.0.0.1:6379)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from bus import LocalBus, RedisBus, conversation_topic, make_bus

REDIS_URL = "redis://127.0.0.1:6379/0"


async def test_local_bus_delivers_to_every_subscriber_of_the_topic() -> None:
    bus = LocalBus()
    async with bus.subscribe("a") as q1, bus.subscribe("a") as q2, bus.subscribe("b") as q3:
        await bus.publish("a", {"n": 1})
        assert q1.get_nowait() == {"n": 1} and q2.get_nowait() == {"n": 1}
        assert q3.empty()
    assert bus.topics() == set()


async def test_redis_bus_reaches_a_subscriber_in_another_worker() -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    worker_a, worker_b = RedisBus(REDIS_URL, prefix=prefix), RedisBus(REDIS_URL, prefix=prefix)
    topic = conversation_topic("c1")
    try:
        async with worker_a.subscribe(topic) as queue:
            await asyncio.sleep(0.1)  # the SUBSCRIBE reaches Redis
            for n in range(5):
                await worker_b.publish(topic, {"n": n, "text": "a staff reply"})
            got = [await asyncio.wait_for(queue.get(), 5) for _ in range(5)]
            assert [e["n"] for e in got] == [0, 1, 2, 3, 4]  # in order
            await worker_b.publish(conversation_topic("other"), {"n": 99})
            await asyncio.sleep(0.2)
            assert queue.empty()  # another conversation's events do not leak here
    finally:
        await worker_a.close()
        await worker_b.close()


async def test_redis_bus_unsubscribes_when_the_last_socket_leaves() -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    bus = RedisBus(REDIS_URL, prefix=prefix)
    try:
        async with bus.subscribe("t"):
            await asyncio.sleep(0.05)
            counts = await bus._redis.pubsub_numsub(prefix + "t")
            assert counts[0][1] == 1
        await asyncio.sleep(0.1)
        counts = await bus._redis.pubsub_numsub(prefix + "t")
        assert counts[0][1] == 0
    finally:
        await bus.close()


def test_make_bus_picks_redis_only_when_configured() -> None:
    assert isinstance(make_bus(None), LocalBus)
    bus = make_bus(REDIS_URL)
    assert isinstance(bus, RedisBus)
    asyncio.run(bus.close())


@pytest.mark.parametrize("bad", [b"not json", b"\xff\xfe"])
async def test_redis_bus_drops_malformed_events(bad: bytes) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    bus = RedisBus(REDIS_URL, prefix=prefix)
    try:
        async with bus.subscribe("t") as queue:
            await asyncio.sleep(0.05)
            await bus._redis.publish(prefix + "t", bad)
            await bus.publish("t", {"ok": True})
            assert await asyncio.wait_for(queue.get(), 5) == {"ok": True}
    finally:
        await bus.close()
