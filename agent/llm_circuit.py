"""A circuit breaker for the model provider, so a provider that is down costs each customer one
failed call at most, not one per turn: after `failures_to_open` failures in a row the circuit
opens and turns go straight to the fallback; after a back-off one trial call is let through
(half-open); a success closes it, a failure opens it again for twice as long (capped).

Its state is shared by every worker: in Redis when `SUPPORT_REDIS_URL` is set (one hash per
model, each change one Lua script, so two workers never both send the half-open trial), else in
the process. The clock is wall time for that reason. A trial is a lease: a worker that dies
while its trial call is out lets another try after `trial_lease_s`. Redis being unreachable
never stops a turn: the breaker then lets the call through and logs it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    failures_to_open: int = 3
    base_s: float = 30.0
    max_s: float = 600.0
    trial_lease_s: float = 120.0

    def backoff_s(self, opened: int) -> float:
        return min(self.max_s, self.base_s * 2 ** max(0, opened - 1))


@dataclass
class Snapshot:
    failures: int = 0  # in a row
    opened: int = 0  # times opened in a row (the back-off doubles with each)
    retry_at: float | None = None  # set while open
    trial_until: float = 0.0  # a half-open trial call is out until then


class CircuitStore(Protocol):
    async def allow(self, now: float, policy: Policy) -> bool: ...
    async def success(self) -> None: ...
    async def failure(self, now: float, policy: Policy) -> None: ...
    async def snapshot(self) -> Snapshot: ...
    async def aclose(self) -> None: ...


class MemoryCircuitStore:
    """One process's state (a single worker has no one to share it with)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._s = Snapshot()

    async def allow(self, now: float, policy: Policy) -> bool:
        with self._lock:
            s = self._s
            if s.retry_at is None:
                return True
            if s.trial_until > now or now < s.retry_at:
                return False
            s.trial_until = now + policy.trial_lease_s
            return True

    async def success(self) -> None:
        with self._lock:
            self._s = Snapshot()

    async def failure(self, now: float, policy: Policy) -> None:
        with self._lock:
            s = self._s
            s.failures += 1
            trial = s.trial_until > 0
            resting = s.retry_at is not None and now < s.retry_at
            if trial or (s.failures >= policy.failures_to_open and not resting):
                s.opened += 1
                s.trial_until = 0.0
                s.retry_at = now + policy.backoff_s(s.opened)

    async def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(**self._s.__dict__)

    async def aclose(self) -> None:
        return None


# KEYS[1] the hash; ARGV: now, then the policy's numbers. Same rules as MemoryCircuitStore.
_ALLOW = """
local retry = redis.call('HGET', KEYS[1], 'retry_at')
if not retry then return 1 end
local now = tonumber(ARGV[1])
local trial = tonumber(redis.call('HGET', KEYS[1], 'trial_until') or '0')
if trial > now or now < tonumber(retry) then return 0 end
redis.call('HSET', KEYS[1], 'trial_until', tostring(now + tonumber(ARGV[2])))
return 1
"""
_FAILURE = """
local now = tonumber(ARGV[1])
local n, base, max, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local trial = tonumber(redis.call('HGET', KEYS[1], 'trial_until') or '0')
local retry = redis.call('HGET', KEYS[1], 'retry_at')
local resting = retry and now < tonumber(retry)
if trial > 0 or (failures >= n and not resting) then
  local opened = redis.call('HINCRBY', KEYS[1], 'opened', 1)
  local backoff = math.min(max, base * 2 ^ (opened - 1))
  redis.call('HSET', KEYS[1], 'retry_at', tostring(now + backoff), 'trial_until', '0')
end
redis.call('EXPIRE', KEYS[1], ttl)
return failures
"""


class RedisCircuitStore:
    """The state in one Redis hash, shared by every worker that names the same model."""

    def __init__(self, url: str, *, key: str, client: Any = None) -> None:
        import redis.asyncio as aioredis

        self._redis = client or aioredis.from_url(url)
        self.key = key
        self._allow = self._redis.register_script(_ALLOW)
        self._failure = self._redis.register_script(_FAILURE)

    async def allow(self, now: float, policy: Policy) -> bool:
        return bool(await self._allow(keys=[self.key], args=[repr(now), policy.trial_lease_s]))

    async def success(self) -> None:
        await self._redis.delete(self.key)

    async def failure(self, now: float, policy: Policy) -> None:
        ttl = int(policy.max_s + policy.trial_lease_s + 3600)  # stale state goes by itself
        await self._failure(
            keys=[self.key],
            args=[repr(now), policy.failures_to_open, policy.base_s, policy.max_s, ttl],
        )

    async def snapshot(self) -> Snapshot:
        raw = {k.decode(): v.decode() for k, v in (await self._redis.hgetall(self.key)).items()}
        return Snapshot(
            failures=int(raw.get("failures", 0)),
            opened=int(raw.get("opened", 0)),
            retry_at=float(raw["retry_at"]) if "retry_at" in raw else None,
            trial_until=float(raw.get("trial_until", 0)),
        )

    async def aclose(self) -> None:
        await self._redis.aclose()


class CircuitBreaker:
    def __init__(
        self,
        *,
        failures_to_open: int = 3,
        base_s: float = 30.0,
        max_s: float = 600.0,
        trial_lease_s: float = 120.0,
        clock: Callable[[], float] = time.time,
        store: CircuitStore | None = None,
    ) -> None:
        self.policy = Policy(max(1, failures_to_open), base_s, max_s, trial_lease_s)
        self._clock = clock
        self.store: CircuitStore = store or MemoryCircuitStore()

    async def allow(self) -> bool:
        """May a call go to the provider now? In half-open state only one trial at a time,
        across every worker that shares the store."""
        try:
            return await self.store.allow(self._clock(), self.policy)
        except Exception as exc:  # noqa: BLE001 - the breaker's store must not stop a turn
            log.warning("circuit breaker state unavailable, letting the call through: %r", exc)
            return True

    async def success(self) -> None:
        try:
            await self.store.success()
        except Exception as exc:  # noqa: BLE001
            log.warning("circuit breaker state unavailable: %r", exc)

    async def failure(self) -> None:
        try:
            await self.store.failure(self._clock(), self.policy)
        except Exception as exc:  # noqa: BLE001
            log.warning("circuit breaker state unavailable: %r", exc)

    async def state(self) -> str:
        s = await self.store.snapshot()
        if s.retry_at is None:
            return "closed"
        if s.trial_until > self._clock() or self._clock() >= s.retry_at:
            return "half_open"
        return "open"

    async def backoff_s(self) -> float:
        """The rest the circuit takes (or took) when it opened last."""
        return self.policy.backoff_s((await self.store.snapshot()).opened)

    async def aclose(self) -> None:
        await self.store.aclose()


def circuit_key(model: str, base_url: str | None) -> str:
    return f"support-agent:llm-circuit:{base_url or 'openai'}:{model}"


def build_circuit(settings: Any) -> CircuitBreaker:
    """From the settings: shared through Redis when SUPPORT_REDIS_URL is set."""
    store: CircuitStore | None = None
    if settings.redis_url:
        store = RedisCircuitStore(
            settings.redis_url, key=circuit_key(settings.openai_model, settings.openai_base_url)
        )
    return CircuitBreaker(
        failures_to_open=settings.llm_failures_to_open,
        base_s=settings.llm_backoff_s,
        max_s=settings.llm_backoff_max_s,
        trial_lease_s=max(60.0, 2 * settings.openai_timeout_s),
        store=store,
    )
