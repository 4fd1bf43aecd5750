"""The built-in queue: the escalation record is the ticket. No network, so the default install
works offline; staff read and answer escalations through the project's own API."""

from __future__ import annotations

from helpdesk.connectors.base import TicketPayload, TicketRef


class BuiltinQueueConnector:
    name = "builtin"

    def __init__(self, *, staff_url: str | None = None) -> None:
        # e.g. "https://shop.example/staff/escalations": the ticket link shown to staff
        self._staff_url = staff_url.rstrip("/") if staff_url else None

    async def create_ticket(self, ticket: TicketPayload, idempotency_key: str) -> TicketRef:
        del idempotency_key  # the escalation id is already unique
        url = f"{self._staff_url}/{ticket.escalation_id}" if self._staff_url else None
        return TicketRef(external_id=ticket.escalation_id, url=url)

    async def add_comment(
        self, external_id: str, body: str, public: bool, *, idempotency_key: str | None = None
    ) -> None:
        """Nothing to do: staff see the conversation itself, follow-ups included."""
        del external_id, body, public, idempotency_key
