"""The helpdesk the chaos run delivers to: a small HTTP server on loopback that accepts the
generic webhook connector's POSTs (helpdesk/connectors/webhook.py) and records every delivery
with its Idempotency-Key, so at-least-once delivery shows up as counted duplicates.

A raw asyncio server (HTTP/1.1, Content-Length bodies, keep-alive) rather than a web framework:
the connector's httpx client needs no more, and the harness stays free of signal handlers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from helpdesk.connectors.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)

MAX_BODY = 4 << 20


@dataclass
class Delivery:
    key: str
    event: str
    escalation_id: str | None
    conversation_id: str | None
    signed: bool  # the signature checked out against the run's secret
    at: float  # time.time()


@dataclass
class WebhookSink:
    secret: str
    host: str = "127.0.0.1"
    deliveries: list[Delivery] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/tickets"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def by_key(self) -> Counter[str]:
        return Counter(d.key for d in self.deliveries)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                if length > MAX_BODY:
                    await _answer(writer, 413, {"error": "too large"})
                    return
                body = await reader.readexactly(length)
                status, answer = self._record(lines[0], headers, body)
                await _answer(writer, status, answer)
                if headers.get("connection", "").lower() == "close":
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            return  # the client closed the keep-alive connection (or a worker died mid-request)
        finally:
            writer.close()

    def _record(self, request_line: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        if not request_line.startswith("POST "):
            return 405, {"error": "POST only"}
        try:
            event = json.loads(body)
        except ValueError:
            return 400, {"error": "not JSON"}
        key = headers.get(IDEMPOTENCY_HEADER.lower(), "")
        signed = verify(
            self.secret,
            timestamp=headers.get(TIMESTAMP_HEADER.lower(), ""),
            body=body,
            signature=headers.get(SIGNATURE_HEADER.lower(), ""),
        )
        ticket = event.get("ticket") or {}
        self.deliveries.append(
            Delivery(
                key=key,
                event=str(event.get("event")),
                escalation_id=ticket.get("escalation_id"),
                conversation_id=ticket.get("conversation_id"),
                signed=signed,
                at=time.time(),
            )
        )
        # the same ticket id for a repeated key, as a helpdesk that honours the key would answer
        return 200, {"id": f"T-{key}", "url": f"http://{self.host}/tickets/{key}"}


async def _answer(writer: asyncio.StreamWriter, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed", 413: "Too Large"}
    writer.write(
        f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n".encode()
        + body
    )
    await writer.drain()
