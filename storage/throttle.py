"""Sliding-window counting per key: the one throttle behind verification lock-outs, message and
connection rates and escalation caps (and, later, the console's login, email and notification
caps).

A key's count is the number of events recorded under it inside the window. `hit` records an
event only when it is allowed, so a caller refused `limit` times in a row still gets exactly
`limit` events per window, and a flood of refused requests costs no storage. Two backends share
one interface: the database (`throttle_hits` rows, the default, good for one process or several
on PostgreSQL) and Redis (a sorted set per key that expires by itself) when `redis_url` is set;
a third, in memory, counts the chat's message and connection rates of a single process.

Keys hold no personal data: callers build them with `key(kind, value)`, which keeps a keyed hash
of the value (an email, an IP), so the throttle table or Redis reveals nothing when read."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.tables_security import ThrottleHit

Clock = Callable[[], float]  # seconds since the epoch
UNLIMITED = 2**31 - 1  # a limit for keys that only count (never refuse)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int  # events inside the window, this one included when allowed
    retry_after_s: float = 0.0  # when refused: until the window has room again

    @property
    def retry_after(self) -> int:
        """Whole seconds for a Retry-After header (at least 1 when refused)."""
        return 0 if self.allowed else max(1, math.ceil(self.retry_after_s))


@runtime_checkable
class Throttle(Protocol):
    def key(self, kind: str, value: str) -> str: ...

    async def hit(self, key: str, *, limit: int, window_s: float) -> Verdict: ...

    async def count(self, key: str, *, window_s: float) -> int: ...

    async def counts(self, keys: Sequence[str], *, window_s: float) -> list[int]:
        """`count` of each key, in one round trip."""
        ...

    async def reset(self, key: str) -> None: ...

    async def prune(self) -> int: ...

    async def close(self) -> None: ...


class _Keys:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def key(self, kind: str, value: str) -> str:
        """`kind:digest` — the value (email, IP, order number) is never stored in clear."""
        digest = hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{kind[:120]}:{digest}"


class SqlThrottle(_Keys):
    """Counts rows of `throttle_hits`. Every hit runs in its own short transaction: call it
    outside any other write transaction (SQLite has one writer at a time)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        secret: bytes,
        clock: Clock = time.time,
        retain_s: float = 86_400,
        prune_every: int = 500,
    ) -> None:
        super().__init__(secret)
        self._sessions = sessions
        self._clock = clock
        self._retain_s = retain_s  # longer than any window a caller uses
        self._prune_every = max(1, prune_every)
        self._writes = 0

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def hit(self, key: str, *, limit: int, window_s: float) -> Verdict:
        now = self._now()
        since = now - timedelta(seconds=window_s)
        async with self._sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                # concurrent hits on one key take turns, so two of them cannot both be the last
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key}
                )
            # insert first: on SQLite the write lock is taken before counting, which serialises
            # concurrent hits the same way
            row = ThrottleHit(key=key, at=now)
            session.add(row)
            await session.flush()
            in_window = ThrottleHit.key == key, ThrottleHit.at > since
            count = int(await session.scalar(select(func.count()).where(*in_window)) or 0)
            verdict = Verdict(True, count)
            if count > limit:
                await session.delete(row)
                before = count - 1
                # room again when enough of the oldest events have left the window
                oldest = await session.scalar(
                    select(ThrottleHit.at)
                    .where(*in_window, ThrottleHit.id != row.id)
                    .order_by(ThrottleHit.at, ThrottleHit.id)
                    .offset(max(0, before - limit))
                    .limit(1)
                )
                wait = window_s if oldest is None else (_utc(oldest) - since).total_seconds()
                verdict = Verdict(False, before, max(0.0, wait))
            self._writes += 1
            if (self._writes - 1) % self._prune_every == 0:  # the first hit, then every Nth
                await self._prune(session, now)
        return verdict

    async def count(self, key: str, *, window_s: float) -> int:
        return (await self.counts([key], window_s=window_s))[0]

    async def counts(self, keys: Sequence[str], *, window_s: float) -> list[int]:
        """One statement for all keys (a verification checks three): each key's own query in
        its own session cost ~1 ms of CPU apiece on a chat turn."""
        since = self._now() - timedelta(seconds=window_s)
        async with self._sessions() as session:
            rows = await session.execute(
                select(ThrottleHit.key, func.count())
                .where(ThrottleHit.key.in_(list(keys)), ThrottleHit.at > since)
                .group_by(ThrottleHit.key)
            )
            found = {key: int(n) for key, n in rows}
        return [found.get(key, 0) for key in keys]

    async def reset(self, key: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(ThrottleHit).where(ThrottleHit.key == key))

    async def prune(self) -> int:
        """Deletes rows older than every window (also run on a fraction of hits)."""
        async with self._sessions.begin() as session:
            return await self._prune(session, self._now())

    async def _prune(self, session: AsyncSession, now: datetime) -> int:
        cutoff = now - timedelta(seconds=self._retain_s)
        result: Any = await session.execute(delete(ThrottleHit).where(ThrottleHit.at < cutoff))
        return int(result.rowcount or 0)

    async def close(self) -> None:
        return None


def _utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they are stored in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# KEYS[1]: the sorted set; ARGV: now, window_s, limit, member, ttl_ms. Scores are event times.
# Numbers leave Lua as integers, so the wait goes back as a string.
_HIT_SCRIPT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {1, n + 1, '0'}
end
local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
local wait = window
if oldest[2] then wait = tonumber(oldest[2]) + window - now end
return {0, n, tostring(wait)}
"""


class RedisThrottle(_Keys):
    """A sorted set per key, scored by event time; the check and the insert run as one script,
    so workers sharing the Redis server count together. Keys expire after their window."""

    def __init__(
        self, client: Any, *, secret: bytes, clock: Clock = time.time, prefix: str = "sa:throttle:"
    ) -> None:
        super().__init__(secret)
        self._redis = client
        self._clock = clock
        self._prefix = prefix
        self._script = client.register_script(_HIT_SCRIPT)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisThrottle:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url), **kwargs)

    async def hit(self, key: str, *, limit: int, window_s: float) -> Verdict:
        now = self._clock()
        member = f"{now:.6f}:{uuid.uuid4().hex[:12]}"
        ttl_ms = max(1, math.ceil(window_s * 1000))
        allowed, count, wait = await self._script(
            keys=[self._prefix + key], args=[now, window_s, limit, member, ttl_ms]
        )
        if int(allowed):
            return Verdict(True, int(count))
        return Verdict(False, int(count), max(0.0, float(wait)))

    async def count(self, key: str, *, window_s: float) -> int:
        since = self._clock() - window_s
        return int(await self._redis.zcount(self._prefix + key, f"({since}", "+inf"))

    async def counts(self, keys: Sequence[str], *, window_s: float) -> list[int]:
        since = self._clock() - window_s
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zcount(self._prefix + key, f"({since}", "+inf")
            return [int(n) for n in await pipe.execute()]

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def prune(self) -> int:
        return 0  # keys expire by themselves

    async def close(self) -> None:
        await self._redis.aclose()


class MemoryThrottle(_Keys):
    """Sliding windows in this process's memory, for counts that need not outlive it: message
    and connection rates of one `serve` process without Redis. A database write per customer
    message was 15-20 % of a simple turn's CPU. Verification lock-outs stay in the database (a
    restart must not wipe them), so this is never the tools' throttle.

    Each key keeps the times of its allowed events, at most `limit` of them; keys whose events
    have all left their window are dropped every `prune_every` hits, and past `max_keys` the
    least recently hit keys go first, so a flood of addresses cannot grow it without bound."""

    def __init__(
        self,
        *,
        secret: bytes,
        clock: Clock = time.time,
        max_keys: int = 100_000,
        prune_every: int = 1_000,
    ) -> None:
        super().__init__(secret)
        self._clock = clock
        self._max_keys = max(1, max_keys)
        self._prune_every = max(1, prune_every)
        self._hits = 0
        # key -> (window_s of its last hit, event times oldest first); most recently hit last
        self._keys: OrderedDict[str, tuple[float, deque[float]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    async def hit(self, key: str, *, limit: int, window_s: float) -> Verdict:
        # no await inside: the check and the record cannot interleave with another hit
        now = self._clock()
        self._hits += 1
        if self._hits % self._prune_every == 0:  # before this key is touched: it may be empty
            self._prune(now)
        _, times = self._keys.get(key, (window_s, deque()))
        while times and times[0] <= now - window_s:
            times.popleft()
        self._keys[key] = (window_s, times)
        self._keys.move_to_end(key)
        while len(self._keys) > self._max_keys:
            self._keys.popitem(last=False)
        if len(times) < limit:
            times.append(now)
            return Verdict(True, len(times))
        # room again when the event `limit` places from the newest leaves the window
        oldest = times[len(times) - limit] if limit > 0 else None
        wait = window_s if oldest is None else oldest + window_s - now
        return Verdict(False, len(times), max(0.0, wait))

    async def count(self, key: str, *, window_s: float) -> int:
        entry = self._keys.get(key)
        if entry is None:
            return 0
        since = self._clock() - window_s
        return sum(1 for t in entry[1] if t > since)

    async def counts(self, keys: Sequence[str], *, window_s: float) -> list[int]:
        return [await self.count(key, window_s=window_s) for key in keys]

    async def reset(self, key: str) -> None:
        self._keys.pop(key, None)

    async def prune(self) -> int:
        return self._prune(self._clock())

    def _prune(self, now: float) -> int:
        stale = [
            k for k, (window, times) in self._keys.items() if not times or times[-1] <= now - window
        ]
        for k in stale:
            del self._keys[k]
        return len(stale)

    async def close(self) -> None:
        self._keys.clear()


def build_rate_throttle(
    shared: Throttle, *, secret: bytes, redis_url: str | None = None, clock: Clock = time.time
) -> Throttle:
    """The throttle for message and connection rates: the shared one with Redis (every worker
    counts together), else this process's memory (one process is the only counter)."""
    if redis_url:
        return shared
    return MemoryThrottle(secret=secret, clock=clock)


def build_throttle(
    *,
    sessions: async_sessionmaker[AsyncSession],
    secret: bytes,
    redis_url: str | None = None,
    clock: Clock = time.time,
) -> Throttle:
    """Redis when configured (shared by every worker), else the database."""
    if redis_url:
        return RedisThrottle.from_url(redis_url, secret=secret, clock=clock)
    return SqlThrottle(sessions, secret=secret, clock=clock)
