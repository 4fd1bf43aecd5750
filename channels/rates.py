"""Per-IP limits of the customer channel: chat sockets opened per minute and held open at once
(refused at the handshake with HTTP 429), and customer messages per minute on /ws/chat and
POST /api/chat together (refused before anything is stored or acknowledged).

With Redis (N workers) rates go through the shared throttle, so every worker counts together;
one process alone counts them in memory (storage/throttle.py `build_rate_throttle`: a database
write per message was 15-20 % of a simple turn). Open sockets are counted in this process, which
is where they live."""

from __future__ import annotations

from typing import Any

from fastapi import WebSocket
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection

from settings import Settings
from storage.throttle import Throttle, Verdict
from web.clientip import client_ip, ip_bucket

RATE_WINDOW_S = 60.0
OPEN_SOCKETS_RETRY_S = 30.0  # no event frees a slot at a known time: a hint, not a promise


def too_fast(verdict: Verdict) -> str:
    return (
        f"You're sending messages too quickly. Please wait {verdict.retry_after} seconds "
        "and try again."
    )


class ChatRates:
    def __init__(self, settings: Settings, throttle: Throttle) -> None:
        self._settings = settings
        self._throttle = throttle
        self._open: dict[str, int] = {}

    def client_ip(self, conn: HTTPConnection) -> str:
        return client_ip(conn, self._settings.trusted_proxies)

    def _key(self, kind: str, ip: str) -> str:
        return self._throttle.key(kind, ip_bucket(ip))

    async def admit_socket(self, ip: str) -> Verdict:
        """Counts a new socket against both limits; an allowed one must be released."""
        bucket = ip_bucket(ip)
        held = self._open.get(bucket, 0)
        if held >= self._settings.ws_open_per_ip:
            return Verdict(False, held, OPEN_SOCKETS_RETRY_S)
        self._open[bucket] = held + 1  # before the await, so concurrent handshakes see it
        verdict = await self._throttle.hit(
            self._key("chat:connect", ip),
            limit=self._settings.ws_connections_per_ip_per_min,
            window_s=RATE_WINDOW_S,
        )
        if not verdict.allowed:
            self.release_socket(ip)
        return verdict

    def release_socket(self, ip: str) -> None:
        bucket = ip_bucket(ip)
        held = self._open.get(bucket, 0) - 1
        if held > 0:
            self._open[bucket] = held
        else:
            self._open.pop(bucket, None)

    def open_sockets(self, ip: str) -> int:
        return self._open.get(ip_bucket(ip), 0)

    async def message(self, ip: str) -> Verdict:
        """One customer message from this IP, over either route."""
        return await self._throttle.hit(
            self._key("chat:message", ip),
            limit=self._settings.messages_per_ip_per_min,
            window_s=RATE_WINDOW_S,
        )


def rate_limited_response(verdict: Verdict, message: str) -> JSONResponse:
    seconds = verdict.retry_after
    return JSONResponse(
        {"error": {"code": "rate_limited", "message": message, "retry_after": seconds}},
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


async def refuse_socket(websocket: WebSocket, verdict: Verdict) -> None:
    """Refuses the handshake: HTTP 429 where the server can send a response to a WebSocket
    request (uvicorn, the test client), else a close with the policy-violation code."""
    extensions: dict[str, Any] = websocket.scope.get("extensions") or {}
    if "websocket.http.response" in extensions:
        message = "Too many chat connections from your network. Please try again shortly."
        await websocket.send_denial_response(rate_limited_response(verdict, message))
    else:
        await websocket.close(code=1008)
