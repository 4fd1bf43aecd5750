"""One request-body limit in front of every route, as pure ASGI middleware.

A body is never buffered here: a declared Content-Length over the route's limit is refused
before the app runs, and every body is counted as it streams (chunked ones have no declared
length). The moment the count passes the limit the client gets 413, or 400 if it passes the
body's own Content-Length, and the app sees a disconnect, so it never holds more than one chunk
past the limit. FastAPI would otherwise read a whole body before any handler saw its size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from settings import Settings
from web.errors import error_body


@dataclass(frozen=True)
class RouteLimit:
    """`path` is exact, or a prefix when it ends with "/"."""

    path: str
    limit: int

    def matches(self, path: str) -> bool:
        return path == self.path or (self.path.endswith("/") and path.startswith(self.path))


# the staff API's JSON bodies (decisions, replies, re-index lists) are small; FastAPI reads a
# body before it checks the token, so without this anyone could park 21 MB per request there
STAFF_JSON_BYTES = 1024 * 1024


def route_limits(settings: Settings) -> list[RouteLimit]:
    """The routes whose bodies are smaller than the global `max_request_bytes`; the first
    match wins."""
    return [
        RouteLimit("/api/chat", settings.max_chat_body_bytes),
        RouteLimit("/webhooks/", settings.max_webhook_body_bytes),
        RouteLimit("/api/staff/kb/documents", settings.max_upload_bytes),
        RouteLimit("/api/staff/", STAFF_JSON_BYTES),
    ]


class RequestTooLarge(Exception):
    """Raised by a wrapped `receive` once the body passes the limit (see `BodyLimit`)."""


async def send_json(send: Send, status: int, payload: dict[str, Any], **headers: str) -> None:
    """A whole JSON response, for guards that answer before (or instead of) the app."""
    body = json.dumps(payload).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Pure ASGI middleware: 413 for bodies over the route's limit, never a buffered body."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.ceiling = settings.max_request_bytes
        self.routes = route_limits(settings)

    def limit_for(self, path: str) -> int:
        # the global limit is a ceiling: a route's own setting never raises it
        for route in self.routes:
            if route.matches(path):
                return min(route.limit, self.ceiling)
        return self.ceiling

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared == -1:
            await send_json(
                send,
                400,
                error_body("bad_request", "Invalid Content-Length header."),
                connection="close",
            )
            return
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        await self._counted(scope, receive, send, limit, declared)

    async def _counted(
        self, scope: Scope, receive: Receive, send: Send, limit: int, declared: int | None
    ) -> None:
        # a body may not outgrow its own Content-Length either (servers that frame by it never
        # deliver more; this catches one that does)
        cap = limit if declared is None else min(limit, declared)
        received = 0
        started = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    refused = True
                    if started:  # too late for a status: end the exchange instead
                        raise RequestTooLarge(f"request body over {cap} bytes")
                    if received > limit:
                        await _refuse(send, limit)
                    else:
                        await send_json(
                            send,
                            400,
                            error_body("bad_request", _LONGER_THAN_DECLARED),
                            connection="close",
                        )
                    # the app sees the client gone; whatever it answers is dropped below
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


_LONGER_THAN_DECLARED = "The request body is longer than its Content-Length header."


async def _refuse(send: Send, limit: int) -> None:
    # "connection: close" makes the server drop the rest of the body instead of parsing it as
    # the next request on a kept-alive connection
    await send_json(
        send,
        413,
        error_body(
            "too_large",
            f"The request body is too large: this route accepts at most {limit:,} bytes.",
        ),
        connection="close",
    )


def _content_length(scope: Scope) -> int | None:
    """The declared length, None when absent, -1 when it is not a plain number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and text.isascii() else -1
    return None
