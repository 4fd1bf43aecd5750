"""What the outbox keeps once a ticket has left: the transcript goes with delivery, and a
helpdesk's error text is stored masked (staff read it in GET /api/staff/outbox)."""

from __future__ import annotations

import json
from pathlib import Path

from helpdesk.connectors import TicketPayload, TranscriptLine
from helpdesk.connectors.base import DeliveryError, TicketRef
from helpdesk.outbox import OutboxWorker, enqueue_ticket
from storage.engine import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.tables_helpdesk import OutboxEntry, OutboxStatus

TICKET = TicketPayload(
    escalation_id="e1",
    conversation_id="c1",
    subject="[order_status] where is my order?",
    summary="Reason: customer request.",
    requester_name="Ada Byron",
    requester_email="ada@example.com",
    transcript=[TranscriptLine(role="customer", text="I'm at 12 Elm Street, Portland 97201")],
    category="order_status",
    tags=["support-agent"],
)


class Desk:
    name = "builtin"

    def __init__(self, error: str | None = None) -> None:
        self.error = error
        self.received: list[TicketPayload] = []

    async def create_ticket(self, ticket: TicketPayload, idempotency_key: str) -> TicketRef:
        del idempotency_key
        if self.error:
            raise DeliveryError(self.error, retryable=False, status=400)
        self.received.append(ticket)
        return TicketRef(external_id="T-1")

    async def add_comment(self, *args: object, **kwargs: object) -> None:
        del args, kwargs


async def _deliver(tmp_path: Path, desk: Desk) -> OutboxEntry:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    async with sessions.begin() as session:
        await enqueue_ticket(session, target="builtin", ticket=TICKET)
    assert await OutboxWorker(sessions, {"builtin": desk}).run_once() == 1
    async with sessions() as session:
        row = await session.get(OutboxEntry, 1)
    await engine.dispose()
    assert row is not None
    return row


async def test_a_delivered_ticket_keeps_no_transcript(tmp_path: Path) -> None:
    desk = Desk()
    row = await _deliver(tmp_path, desk)
    assert desk.received[0].transcript[0].text.startswith("I'm at 12 Elm Street")  # sent whole
    assert row.status == OutboxStatus.DELIVERED
    kept = json.dumps(row.payload)
    for secret in ("12 Elm Street", "97201", "ada@example.com", "Ada Byron"):
        assert secret not in kept
    assert row.payload["transcript_lines"] == 1 and "transcript" not in row.payload
    assert (row.payload["escalation_id"], row.payload["conversation_id"]) == ("e1", "c1")
    assert row.payload["category"] == "order_status"


async def test_a_helpdesk_error_is_stored_masked(tmp_path: Path) -> None:
    row = await _deliver(tmp_path, Desk("HTTP 400: requester ada@example.com is suspended"))
    assert row.status == OutboxStatus.DEAD
    assert row.last_error == "attempt 1: HTTP 400: requester a***@e***.com is suspended"
    assert "transcript" in row.payload  # not delivered: kept whole for a retry
