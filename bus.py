"""Events to whichever worker holds a customer's socket.

`LocalBus` serves one process. `RedisBus` serves N worker processes: every publish goes through
Redis pub/sub, and each process keeps one subscriber connection that fans events out to the
local queues of the sockets it holds. Pub/sub is fire-and-forget: the database stays the source
of truth (a socket that misses an event sees the message on resume), the bus only makes it
arrive at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Bus(Protocol):
    async def publish(self, topic: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, topic: str) -> Any:
        """An async context manager yielding an asyncio.Queue of events for `topic`."""
        ...

    async def close(self) -> None: ...


class LocalBus:
    def __init__(self, max_queue: int = 100) -> None:
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._max = max_queue

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        self.deliver(topic, event)

    def deliver(self, topic: str, event: dict[str, Any]) -> None:
        for queue in list(self._queues.get(topic, ())):
            if queue.full():  # a stuck subscriber loses the oldest event, not the publisher
                queue.get_nowait()
            queue.put_nowait(event)

    def topics(self) -> set[str]:
        return set(self._queues)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._max)
        self._queues[topic].add(queue)
        try:
            yield queue
        finally:
            self._queues[topic].discard(queue)
            if not self._queues[topic]:
                del self._queues[topic]

    async def close(self) -> None:
        self._queues.clear()


class RedisBus:
    """Pub/sub across processes. `prefix` keeps several deployments (or tests) on one Redis
    apart."""

    def __init__(self, url: str, *, prefix: str = "support-agent:", max_queue: int = 100) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._local = LocalBus(max_queue)
        self._prefix = prefix
        self._counts: dict[str, int] = defaultdict(int)
        self._listener: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        await self._redis.publish(self._prefix + topic, json.dumps(event, default=str))

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        async with self._lock:
            self._counts[topic] += 1
            if self._counts[topic] == 1:
                await self._pubsub.subscribe(self._prefix + topic)
            if self._listener is None or self._listener.done():
                self._listener = asyncio.create_task(self._listen())
        try:
            async with self._local.subscribe(topic) as queue:
                yield queue
        finally:
            async with self._lock:
                self._counts[topic] -= 1
                if self._counts[topic] <= 0:
                    del self._counts[topic]
                    with contextlib.suppress(Exception):
                        await self._pubsub.unsubscribe(self._prefix + topic)

    async def _listen(self) -> None:
        while True:
            if not self._pubsub.subscribed:
                await asyncio.sleep(0.05)
                continue
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: retry; sockets resume from the database
                log.warning("redis bus: lost the subscription, retrying", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            try:
                event = json.loads(message["data"])
            except (TypeError, ValueError):
                log.warning("redis bus: dropped a malformed event on %s", channel)
                continue
            self._local.deliver(channel.removeprefix(self._prefix), event)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        await self._redis.aclose()


def make_bus(redis_url: str | None, *, prefix: str = "support-agent:") -> Bus:
    return RedisBus(redis_url, prefix=prefix) if redis_url else LocalBus()


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


# The staff console's live feed (GET /api/staff/events): queue, conversation, ownership and
# approval changes, published by whichever worker made them and read by every worker's console
# streams. Events name what changed; the console reloads the rows from the database.
STAFF_TOPIC = "staff:events"


async def announce(bus: Bus | None, event: dict[str, Any]) -> None:
    """Publishes a staff event after its change committed. A bus failure is logged, not
    raised: the change is already saved and the console shows it on its next load."""
    if bus is None:
        return
    try:
        await bus.publish(STAFF_TOPIC, event)
    except Exception:
        log.warning("could not announce a staff event %s", event.get("type"), exc_info=True)
