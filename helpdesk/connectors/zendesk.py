"""Zendesk Support through the Tickets API (email/token basic auth).

Idempotency: the outbox key is stored as the ticket's `external_id`; before creating, the
connector lists tickets with that external_id (`GET /api/v2/tickets.json?external_id=`), so a
retry after a lost response finds the first ticket instead of filing a second one.
"""

from __future__ import annotations

import re

import httpx

from errors import ConfigurationError
from helpdesk.connectors.base import (
    DeliveryError,
    TicketPayload,
    TicketRef,
    normalise_tags,
    render_ticket_text,
    response_json,
    send,
    with_marker,
)

_SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class ZendeskConnector:
    name = "zendesk"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        subdomain: str,
        email: str,
        api_token: str,
        public_description: bool = False,
        base_tags: tuple[str, ...] = ("support_agent",),
        base_url: str | None = None,
    ) -> None:
        subdomain = subdomain.strip().lower().removesuffix(".zendesk.com")
        if not base_url and not _SUBDOMAIN.match(subdomain):
            raise ConfigurationError(f"not a Zendesk subdomain: {subdomain!r}")
        if not email or not api_token:
            raise ConfigurationError("Zendesk needs an agent email and an API token")
        self._client = client
        self._base = (base_url or f"https://{subdomain}.zendesk.com").rstrip("/")
        self._auth = httpx.BasicAuth(f"{email}/token", api_token)
        # the first comment carries our internal summary: private unless asked otherwise
        self._public_description = public_description
        self._base_tags = base_tags

    def ticket_url(self, ticket_id: str) -> str:
        return f"{self._base}/agent/tickets/{ticket_id}"

    def _ref(self, data: dict[str, object]) -> TicketRef:
        ticket_id = str(data["id"])
        return TicketRef(external_id=ticket_id, url=self.ticket_url(ticket_id))

    async def find_by_external_id(self, external_id: str) -> TicketRef | None:
        response = await send(
            self._client,
            "GET",
            f"{self._base}/api/v2/tickets.json",
            params={"external_id": external_id},
            auth=self._auth,
            what="zendesk lookup",
        )
        tickets = response_json(response, what="zendesk lookup").get("tickets") or []
        if not tickets:
            return None
        return self._ref(min(tickets, key=lambda t: int(t["id"])))  # the first one filed

    def ticket_body(self, ticket: TicketPayload, idempotency_key: str) -> dict[str, object]:
        body: dict[str, object] = {
            "subject": ticket.subject,
            "comment": {"body": render_ticket_text(ticket), "public": self._public_description},
            "priority": ticket.priority,  # Zendesk uses the same four words
            "tags": normalise_tags([*self._base_tags, ticket.category, *ticket.tags]),
            "external_id": idempotency_key,
        }
        if ticket.requester_email:
            body["requester"] = {
                "name": ticket.requester_name or ticket.requester_email,
                "email": ticket.requester_email,
            }
        return {"ticket": body}

    async def create_ticket(self, ticket: TicketPayload, idempotency_key: str) -> TicketRef:
        existing = await self.find_by_external_id(idempotency_key)
        if existing is not None:
            return existing
        response = await send(
            self._client,
            "POST",
            f"{self._base}/api/v2/tickets.json",
            json=self.ticket_body(ticket, idempotency_key),
            auth=self._auth,
            what="zendesk create ticket",
        )
        data = response_json(response, what="zendesk create ticket")
        if not isinstance(data, dict) or "id" not in (data.get("ticket") or {}):
            raise DeliveryError("zendesk create ticket: no ticket id in the answer", retryable=True)
        return self._ref(data["ticket"])

    async def add_comment(
        self,
        external_id: str,
        body: str,
        public: bool,
        *,
        idempotency_key: str | None = None,  # noqa: ARG002 - no such header here
    ) -> None:
        await send(
            self._client,
            "PUT",
            f"{self._base}/api/v2/tickets/{external_id}.json",
            json={"ticket": {"comment": {"body": with_marker(body), "public": public}}},
            auth=self._auth,
            what="zendesk add comment",
        )
