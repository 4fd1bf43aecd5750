"""Freshdesk through its v2 REST API (basic auth `api_key:X`).

Freshdesk tickets have no external id of their own (`unique_external_id` belongs to the
contact, not the ticket), so the outbox key travels as a tag, `sa-<digest>`, and the connector
searches for that tag before creating. Freshdesk's search index lags creation by a little, so a
retry within seconds of a lost response can still duplicate; the backoff makes that unlikely.
"""

from __future__ import annotations

import hashlib
import re

import httpx

from errors import ConfigurationError
from helpdesk.connectors.base import (
    DeliveryError,
    TicketPayload,
    TicketRef,
    normalise_tags,
    render_ticket_html,
    response_json,
    send,
    with_marker,
)

PRIORITY = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
STATUS_OPEN = 2
SOURCE_EMAIL, SOURCE_CHAT = 1, 7
_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def dedupe_tag(idempotency_key: str) -> str:
    return "sa-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]


class FreshdeskConnector:
    name = "freshdesk"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        domain: str,
        api_key: str,
        fallback_email: str,
        category_field: str | None = None,
        base_tags: tuple[str, ...] = ("support_agent",),
        base_url: str | None = None,
    ) -> None:
        domain = domain.strip().lower().removeprefix("https://").removesuffix("/")
        domain = domain.removesuffix(".freshdesk.com")
        if not base_url and not _DOMAIN.match(domain):
            raise ConfigurationError(f"not a Freshdesk domain: {domain!r}")
        if not api_key:
            raise ConfigurationError("Freshdesk needs an API key")
        if not fallback_email:
            raise ConfigurationError("Freshdesk needs a fallback requester email")
        self._client = client
        self._base = (base_url or f"https://{domain}.freshdesk.com").rstrip("/")
        self._auth = httpx.BasicAuth(api_key, "X")
        # Freshdesk insists on a requester; anonymous chats are filed under this address
        self._fallback_email = fallback_email
        self._category_field = category_field  # e.g. "cf_category"
        self._base_tags = base_tags

    def ticket_url(self, ticket_id: str) -> str:
        return f"{self._base}/a/tickets/{ticket_id}"

    async def find_by_tag(self, tag: str) -> TicketRef | None:
        response = await send(
            self._client,
            "GET",
            f"{self._base}/api/v2/search/tickets",
            params={"query": f"\"tag:'{tag}'\""},
            auth=self._auth,
            what="freshdesk lookup",
        )
        results = response_json(response, what="freshdesk lookup").get("results") or []
        if not results:
            return None
        ticket_id = str(min(int(r["id"]) for r in results))
        return TicketRef(external_id=ticket_id, url=self.ticket_url(ticket_id))

    def ticket_body(self, ticket: TicketPayload, idempotency_key: str) -> dict[str, object]:
        body: dict[str, object] = {
            "subject": ticket.subject,
            "description": render_ticket_html(ticket),
            "email": ticket.requester_email or self._fallback_email,
            "priority": PRIORITY[ticket.priority],
            "status": STATUS_OPEN,
            "source": SOURCE_EMAIL if ticket.channel == "email" else SOURCE_CHAT,
            "tags": normalise_tags(
                [*self._base_tags, ticket.category, *ticket.tags, dedupe_tag(idempotency_key)]
            ),
        }
        if ticket.requester_name or not ticket.requester_email:
            body["name"] = ticket.requester_name or "Chat visitor"
        if self._category_field:
            body["custom_fields"] = {self._category_field: ticket.category}
        return body

    async def create_ticket(self, ticket: TicketPayload, idempotency_key: str) -> TicketRef:
        existing = await self.find_by_tag(dedupe_tag(idempotency_key))
        if existing is not None:
            return existing
        response = await send(
            self._client,
            "POST",
            f"{self._base}/api/v2/tickets",
            json=self.ticket_body(ticket, idempotency_key),
            auth=self._auth,
            what="freshdesk create ticket",
        )
        data = response_json(response, what="freshdesk create ticket")
        if not isinstance(data, dict) or "id" not in data:
            raise DeliveryError("freshdesk create ticket: no id in the answer", retryable=True)
        ticket_id = str(data["id"])
        return TicketRef(external_id=ticket_id, url=self.ticket_url(ticket_id))

    async def add_comment(
        self,
        external_id: str,
        body: str,
        public: bool,
        *,
        idempotency_key: str | None = None,  # noqa: ARG002 - no such header here
    ) -> None:
        # a note, never a reply: replies email the customer, who is already talking to us
        await send(
            self._client,
            "POST",
            f"{self._base}/api/v2/tickets/{external_id}/notes",
            json={"body": with_marker(body), "private": not public},
            auth=self._auth,
            what="freshdesk add note",
        )
