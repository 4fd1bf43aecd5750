"""A generic signed webhook, for helpdesks we have no connector for (or the shop's own system).

Each event is one POST of JSON to the configured URL:

    {"event": "ticket.create", "idempotency_key": "...", "ticket": {...}, "text": "..."}
    {"event": "ticket.comment", "idempotency_key": "...", "external_id": "...", "body": "...",
     "public": false}

with `X-Support-Agent-Timestamp`, `X-Support-Agent-Signature` (see signing.py) and
`Idempotency-Key` headers. The receiver must answer 2xx, should answer a ticket.create with
`{"id": "...", "url": "..."}`, and must treat a repeated Idempotency-Key as the same request.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from errors import ConfigurationError
from helpdesk.connectors.base import (
    TicketPayload,
    TicketRef,
    render_ticket_text,
    response_json,
    send,
)
from helpdesk.connectors.signing import IDEMPOTENCY_HEADER, signature_headers


class WebhookConnector:
    name = "webhook"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        url: str,
        secret: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ConfigurationError(f"the helpdesk webhook URL must be http(s): {url!r}")
        if len(secret) < 16:
            raise ConfigurationError("the helpdesk webhook secret must be at least 16 characters")
        self._client = client
        self._url = url
        self._secret = secret
        self._clock = clock

    async def _post(self, event: dict[str, Any], idempotency_key: str) -> httpx.Response:
        # sign exactly the bytes we send
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: idempotency_key,
            **signature_headers(self._secret, body, now=self._clock()),
        }
        return await send(
            self._client,
            "POST",
            self._url,
            content=body,
            headers=headers,
            what=f"webhook {event['event']}",
        )

    async def create_ticket(self, ticket: TicketPayload, idempotency_key: str) -> TicketRef:
        event = {
            "event": "ticket.create",
            "idempotency_key": idempotency_key,
            "ticket": ticket.model_dump(mode="json"),
            "text": render_ticket_text(ticket),
        }
        response = await self._post(event, idempotency_key)
        data = response_json(response, what="webhook ticket.create") if response.content else {}
        data = data if isinstance(data, dict) else {}
        external_id = data.get("external_id") or data.get("id") or idempotency_key
        url = data.get("url")
        return TicketRef(external_id=str(external_id), url=str(url) if url else None)

    async def add_comment(
        self, external_id: str, body: str, public: bool, *, idempotency_key: str | None = None
    ) -> None:
        if idempotency_key is None:
            digest = hashlib.sha256(f"{external_id}\n{body}".encode()).hexdigest()[:32]
            idempotency_key = f"comment:{digest}"
        event = {
            "event": "ticket.comment",
            "idempotency_key": idempotency_key,
            "external_id": external_id,
            "body": body,
            "public": public,
        }
        await self._post(event, idempotency_key)
