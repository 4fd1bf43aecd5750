"""The transactional outbox: an escalation and the row that will turn it into a helpdesk ticket
commit together, and a worker delivers the row later, however long the helpdesk is down.

    enqueue (caller's transaction) ──► pending ──claim (compare-and-set)──► delivering
         delivering ──ok──► delivered (external_id kept, helpdesk_tickets row written)
         delivering ──retryable error──► pending, next_attempt_at = now + full-jitter backoff
         delivering ──permanent error, or attempts exhausted──► dead (staff: retry_dead)

A claim bumps `attempts` and sets `next_attempt_at` to a lease deadline; a worker that dies
mid-delivery leaves a row another worker reclaims once the lease runs out. The connector's own
idempotency (lookup by key before create) makes that second delivery find the first ticket.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from errors import StorageError
from helpdesk.connectors.base import TicketPayload
from storage.tables import utcnow
from storage.tables_helpdesk import HelpdeskTicket, OutboxEntry, OutboxStatus

log = logging.getLogger(__name__)

TICKET_CREATE = "ticket.create"
TICKET_COMMENT = "ticket.comment"
_LIVE = (OutboxStatus.PENDING, OutboxStatus.DELIVERING)


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 2.0
    cap_s: float = 600.0
    max_attempts: int = 20  # rides out about an hour of outage on average (two at most)
    max_retry_after_s: float = 3600.0  # a helpdesk's Retry-After is honoured up to this
    lease_s: float = 120.0  # longer than any HTTP timeout the connectors use

    def bound(self, attempt: int) -> float:
        return min(self.cap_s, self.base_s * 2 ** min(attempt - 1, 40))

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Full jitter: uniform in [0, min(cap, base·2^(attempt-1))], never below Retry-After."""
        jittered = rng.uniform(0.0, self.bound(attempt))
        if retry_after is not None:
            return max(jittered, min(retry_after, self.max_retry_after_s))
        return jittered


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise StorageError(f"the outbox needs SQLite or PostgreSQL, not {dialect}")


def ticket_key(escalation_id: str) -> str:
    return f"ticket:{escalation_id}"


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    target: str,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime | None = None,
) -> OutboxEntry:
    """Adds a row inside the caller's transaction. A key already present is a no-op that
    returns the existing row (whatever its status)."""
    now = now or utcnow()
    insert = _insert(session)
    await session.execute(
        insert(OutboxEntry)
        .values(
            kind=kind,
            target=target,
            payload=payload,
            idempotency_key=idempotency_key,
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    row = await session.scalar(
        select(OutboxEntry).where(OutboxEntry.idempotency_key == idempotency_key)
    )
    assert row is not None  # inserted or already there, in this transaction's view
    return row


async def enqueue_ticket(
    session: AsyncSession, *, target: str, ticket: TicketPayload, now: datetime | None = None
) -> OutboxEntry:
    return await enqueue(
        session,
        kind=TICKET_CREATE,
        target=target,
        payload=ticket.model_dump(mode="json"),
        idempotency_key=ticket_key(ticket.escalation_id),
        now=now,
    )


async def enqueue_comment(
    session: AsyncSession,
    *,
    target: str,
    escalation_id: str,
    body: str,
    public: bool,
    idempotency_key: str,
    now: datetime | None = None,
) -> OutboxEntry:
    """A follow-up on the escalation's ticket (delivered once the ticket exists)."""
    payload = {"escalation_id": escalation_id, "body": body, "public": public}
    return await enqueue(
        session,
        kind=TICKET_COMMENT,
        target=target,
        payload=payload,
        idempotency_key=idempotency_key,
        now=now,
    )


async def _transition(
    session: AsyncSession, entry_id: int, *, expect: tuple[str, int], values: dict[str, Any]
) -> bool:
    """Compare-and-set on (status, attempts): true only if nobody moved the row meanwhile."""
    status, attempts = expect
    result = await session.execute(
        update(OutboxEntry)
        .where(
            OutboxEntry.id == entry_id,
            OutboxEntry.status == status,
            OutboxEntry.attempts == attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def claim(
    session: AsyncSession,
    entry_id: int,
    *,
    seen_status: str,
    seen_attempts: int,
    lease_until: datetime,
) -> bool:
    """Takes a row read as (seen_status, seen_attempts) for delivery, until lease_until."""
    values = {
        "status": OutboxStatus.DELIVERING,
        "attempts": seen_attempts + 1,
        "next_attempt_at": lease_until,
    }
    return await _transition(session, entry_id, expect=(seen_status, seen_attempts), values=values)


async def dead_letters(session: AsyncSession, *, limit: int = 100) -> Sequence[OutboxEntry]:
    rows = await session.scalars(
        select(OutboxEntry)
        .where(OutboxEntry.status == OutboxStatus.DEAD)
        .order_by(OutboxEntry.created_at, OutboxEntry.id)
        .limit(limit)
    )
    return rows.all()


async def retry_dead(session: AsyncSession, entry_id: int, *, now: datetime | None = None) -> bool:
    """Staff action: a dead row goes back to pending with a fresh attempt budget. The last
    error stays visible until the next attempt replaces it."""
    result = await session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == entry_id, OutboxEntry.status == OutboxStatus.DEAD)
        .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


async def outbox_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxEntry.status, func.count()).group_by(OutboxEntry.status)
    )
    return {str(status): int(count) for status, count in rows.all()}


async def ticket_for_external_id(
    session: AsyncSession, *, connector: str, external_id: str
) -> HelpdeskTicket | None:
    """For inbound replies: which escalation (and conversation) a helpdesk ticket belongs to."""
    return await session.scalar(
        select(HelpdeskTicket).where(
            HelpdeskTicket.connector == connector, HelpdeskTicket.external_id == external_id
        )
    )


# The worker lives in its own module; re-exported so callers keep one import.
from helpdesk.outbox_worker import OutboxWorker  # noqa: E402

__all__ = ["OutboxWorker"]
