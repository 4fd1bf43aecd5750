"""One POST to the Shopify Admin GraphQL endpoint, with cost-based throttling, bounded retries
and errors mapped onto BackendError(retryable=...).

Shopify meters GraphQL by *query cost*: each response carries `extensions.cost` with the cost
the query asked for and the bucket (`throttleStatus`: maximumAvailable, currentlyAvailable,
restoreRate points/second). This client remembers the bucket and, per named operation, the
cost it last requested, and waits before a request the bucket cannot cover yet. If Shopify
still answers THROTTLED, it waits for exactly the missing points to restore and tries again.

Retries are safe only when Shopify did not act. THROTTLED, 429 and an auth failure mean the
request was not executed; a 5xx or a lost connection after sending a *mutation* may mean it
was, so mutations get no blind retry: the error goes up as retryable and the caller re-checks
its idempotency marker before trying again (see shopify.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from errors import BackendError

Sleep = Callable[[float], Awaitable[None]]
DEFAULT_COST = 10.0  # assumed for an operation not seen yet; most single-object reads cost less


@dataclass
class Bucket:
    maximum: float
    available: float
    restore_rate: float
    at: float  # clock reading when `available` was reported

    def available_at(self, now: float) -> float:
        return min(self.maximum, self.available + self.restore_rate * max(0.0, now - self.at))


def normalize_shop_domain(domain: str) -> str:
    """'https://acme.myshopify.com/' or 'acme' -> 'acme.myshopify.com'."""
    host = domain.strip().removeprefix("https://").removeprefix("http://").split("/")[0]
    return host if "." in host else f"{host}.myshopify.com"


class ShopifyGraphQL:
    def __init__(
        self,
        shop_domain: str,
        access_token: str,
        client: httpx.AsyncClient,
        api_version: str,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_retries: int = 4,
        backoff_s: float = 1.0,
    ) -> None:
        self.url = (
            f"https://{normalize_shop_domain(shop_domain)}/admin/api/{api_version}/graphql.json"
        )
        self._token = access_token
        self._client = client
        self._sleep = sleep
        self._clock = clock
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.bucket: Bucket | None = None
        self.costs: dict[str, float] = {}  # operation name -> requestedQueryCost last seen

    async def execute(
        self,
        name: str,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        mutation: bool = False,
    ) -> dict[str, Any]:
        """The `data` of the response. Raises BackendError; `retryable` says whether trying
        again later can help."""
        payload = {"query": query, "variables": dict(variables or {}), "operationName": name}
        headers = {"X-Shopify-Access-Token": self._token, "Accept": "application/json"}
        problem = "no attempt made"
        for attempt in range(self.max_retries + 1):
            await self._wait_for_budget(name)
            try:
                response = await self._client.post(self.url, json=payload, headers=headers)
            except httpx.TransportError as exc:
                problem = f"Shopify unreachable: {exc.__class__.__name__}"
                if mutation:
                    raise BackendError(problem, retryable=True) from exc
                await self._pause(self._backoff(attempt), attempt)
                continue
            status = response.status_code
            if status in (401, 403):
                raise BackendError(
                    f"Shopify refused the access token (HTTP {status}); check "
                    "SUPPORT_SHOPIFY_ACCESS_TOKEN and the app's access scopes"
                )
            if status == 429:
                problem = "Shopify rate limit (HTTP 429)"
                await self._pause(self._retry_after(response, attempt), attempt)
                continue
            if status >= 500:
                problem = f"Shopify error (HTTP {status})"
                if mutation:
                    raise BackendError(problem, retryable=True)
                await self._pause(self._backoff(attempt), attempt)
                continue
            if status >= 400:
                raise BackendError(f"Shopify rejected the request (HTTP {status})")
            try:
                body = response.json()
            except ValueError:
                raise BackendError("Shopify answered with something other than JSON") from None
            self._remember_cost(name, body.get("extensions"))
            errors = body.get("errors")
            if errors:
                delay = self._throttle_delay(errors, body.get("extensions"), attempt)
                if delay is None:
                    raise BackendError(f"Shopify GraphQL error: {_messages(errors)}")
                problem = "Shopify throttled the request (THROTTLED)"
                if await self._pause(delay, attempt):
                    self._restored(self.costs.get(name, DEFAULT_COST))
                continue
            data = body.get("data")
            if not isinstance(data, dict):
                raise BackendError("Shopify answered without data")
            return data
        raise BackendError(
            f"{problem}; gave up after {self.max_retries + 1} attempts", retryable=True
        )

    async def _pause(self, seconds: float, attempt: int) -> bool:
        """Wait before the next attempt; no wait after the last one. True if it waited."""
        if attempt >= self.max_retries:
            return False
        await self._sleep(seconds)
        return True

    # --- throttling ----------------------------------------------------------------------

    async def _wait_for_budget(self, name: str) -> None:
        if self.bucket is None or self.bucket.restore_rate <= 0:
            return
        cost = self.costs.get(name, DEFAULT_COST)
        missing = cost - self.bucket.available_at(self._clock())
        if missing > 0:
            await self._sleep(round(missing / self.bucket.restore_rate, 3))
            self._restored(cost)

    def _restored(self, points: float) -> None:
        """After waiting for `points` to restore, count them as there, whatever the clock says
        (an injected sleep does not move a real or frozen clock)."""
        if self.bucket is not None:
            now = self._clock()
            self.bucket.available = max(self.bucket.available_at(now), points)
            self.bucket.at = now

    def _remember_cost(self, name: str, extensions: Any) -> None:
        cost = extensions.get("cost") if isinstance(extensions, dict) else None
        if not isinstance(cost, dict):
            return
        if isinstance(cost.get("requestedQueryCost"), int | float):
            self.costs[name] = float(cost["requestedQueryCost"])
        status = cost.get("throttleStatus")
        if isinstance(status, dict):
            self.bucket = Bucket(
                maximum=float(status.get("maximumAvailable", 0)),
                available=float(status.get("currentlyAvailable", 0)),
                restore_rate=float(status.get("restoreRate", 0)),
                at=self._clock(),
            )

    def _throttle_delay(self, errors: Any, extensions: Any, attempt: int) -> float | None:
        """Seconds to wait when the errors are a THROTTLED refusal, else None."""
        codes = (
            [(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)]
            if isinstance(errors, list)
            else []
        )
        if "THROTTLED" not in codes:
            return None
        cost = extensions.get("cost") if isinstance(extensions, dict) else None
        status = (cost or {}).get("throttleStatus") or {}
        requested, rate = (cost or {}).get("requestedQueryCost"), status.get("restoreRate")
        available = status.get("currentlyAvailable")
        if requested is None or not rate or available is None:
            return self._backoff(attempt)
        return round(max(0.0, float(requested) - float(available)) / float(rate), 3)

    def _backoff(self, attempt: int) -> float:
        return float(self.backoff_s * 2**attempt)

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        try:
            return max(0.0, float(response.headers.get("Retry-After", "")))
        except ValueError:
            return self._backoff(attempt)


def _messages(errors: Any) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
        )
    return str(errors)


def raise_user_errors(errors: list[dict[str, Any]] | None, action: str) -> None:
    """A mutation's `userErrors` (validation, business rules) as one non-retryable error."""
    if errors:
        text = "; ".join(
            f"{'.'.join(map(str, e.get('field') or []))}: {e.get('message')}".lstrip(": ")
            for e in errors
        )
        raise BackendError(f"Shopify refused to {action}: {text}")
