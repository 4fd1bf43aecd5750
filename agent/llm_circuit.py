"""A circuit breaker for the model provider, so a provider that is down costs each customer one
failed call at most, not one per turn: after `failures_to_open` failures in a row the circuit
opens and turns go straight to the fallback; after a back-off one trial call is let through
(half-open); a success closes it, a failure opens it again for twice as long (capped).

Per process: each worker learns about the outage by itself, which costs a few calls per worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(
        self,
        *,
        failures_to_open: int = 3,
        base_s: float = 30.0,
        max_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._n = max(1, failures_to_open)
        self._base = base_s
        self._max = max_s
        self._clock = clock
        self._lock = threading.Lock()
        self.failures = 0  # in a row
        self.opened = 0  # times opened in a row (the back-off doubles with each)
        self._retry_at: float | None = None  # set while open
        self._trial = False  # a half-open trial call is in flight

    @property
    def state(self) -> str:
        if self._retry_at is None:
            return "closed"
        if self._trial or self._clock() >= self._retry_at:
            return "half_open"
        return "open"

    def backoff_s(self) -> float:
        return min(self._max, self._base * 2 ** max(0, self.opened - 1))

    def allow(self) -> bool:
        """May a call go to the provider now? In half-open state only one trial at a time."""
        with self._lock:
            if self._retry_at is None:
                return True
            if self._trial or self._clock() < self._retry_at:
                return False
            self._trial = True
            return True

    def success(self) -> None:
        with self._lock:
            self.failures = self.opened = 0
            self._retry_at = None
            self._trial = False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self._trial or self.failures >= self._n:
                self.opened += 1
                self._trial = False
                self._retry_at = self._clock() + self.backoff_s()
