"""Events to whichever worker holds a customer's socket. In-process by default; the Redis
variant (one process per worker, pub/sub between them) arrives with scale-out."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol


class Bus(Protocol):
    async def publish(self, topic: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, topic: str) -> Any:
        """An async context manager yielding an asyncio.Queue of events for `topic`."""
        ...


class LocalBus:
    def __init__(self, max_queue: int = 100) -> None:
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._max = max_queue

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        for queue in list(self._queues.get(topic, ())):
            if queue.full():  # a stuck subscriber loses the oldest event, not the publisher
                queue.get_nowait()
            queue.put_nowait(event)

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


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"
