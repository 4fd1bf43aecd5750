"""Outcome events (table `outcome_events`, kinds in storage/tables_widget.py): how
conversations ended, as the customer or the staff said. Written here, read by the console."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import Conversation, Escalation, utcnow
from storage.tables_widget import OutcomeEvent, OutcomeKind


async def save_csat(
    session: AsyncSession,
    conversation: Conversation,
    *,
    score: int,
    comment: str | None,
    channel: str,
) -> OutcomeEvent:
    """One rating per conversation per resolution: a resolution is the conversation's
    `owner_version` (every resolve, hand-back and reopen bumps it), so a second rating of the same
    resolution replaces the first and a rating after the next resolve is a new row."""
    if not 1 <= score <= 5:
        raise ValueError("a CSAT score is an integer from 1 to 5")
    resolution = conversation.owner_version
    rows = await session.scalars(
        select(OutcomeEvent).where(
            OutcomeEvent.conversation_id == conversation.id,
            OutcomeEvent.kind == OutcomeKind.CSAT,
        )
    )
    event = next((r for r in rows if (r.detail or {}).get("resolution") == resolution), None)
    detail = {"comment": comment or None, "resolution": resolution}
    if event is None:
        event = OutcomeEvent(
            conversation_id=conversation.id,
            kind=OutcomeKind.CSAT,
            score=score,
            detail=detail,
            channel=channel,
            staff_id=conversation.owner_staff_id,
        )
        session.add(event)
    else:
        event.score, event.detail = score, detail
    await session.flush()
    return event


async def csat_events(session: AsyncSession, conversation_id: str) -> list[OutcomeEvent]:
    rows = await session.scalars(
        select(OutcomeEvent)
        .where(
            OutcomeEvent.conversation_id == conversation_id,
            OutcomeEvent.kind == OutcomeKind.CSAT,
        )
        .order_by(OutcomeEvent.created_at)
    )
    return list(rows)


# --- Events recorded as they happen (issue #16); definitions in docs/metrics.md -------------

# "thanks, that solved it": the customer says the answer helped (confirmed resolution)
_HELPED = re.compile(
    r"\b(that|this|it)\s+(solved|fixed|sorted|answered|helped|did it|works?)\b"
    r"|\b(problem|issue|question)\s+(is\s+)?(solved|sorted|fixed|answered)\b"
    r"|\ball (sorted|good|set)\b|\bthat'?s (all|everything) i needed\b"
    r"|\b(perfect|great|awesome),?\s+thanks?\b|\bthanks?,? (that|this) (helps|helped)\b",
    re.IGNORECASE,
)


def said_it_helped(text: str) -> bool:
    """True when the customer's message says the answer solved their problem."""
    return bool(_HELPED.search(text or ""))


def record(
    session: AsyncSession,
    kind: OutcomeKind,
    *,
    conversation_id: str | None,
    channel: str,
    detail: dict[str, Any] | None = None,
    score: int | None = None,
    staff_id: str | None = None,
    at: datetime | None = None,
) -> OutcomeEvent:
    """Adds one outcome event inside the caller's transaction."""
    event = OutcomeEvent(
        conversation_id=conversation_id,
        kind=kind,
        score=score,
        detail=detail or {},
        channel=channel,
        staff_id=staff_id,
        created_at=at or utcnow(),
    )
    session.add(event)
    return event


async def record_first_response(
    session: AsyncSession, conversation: Conversation, *, staff_id: str | None
) -> OutcomeEvent | None:
    """The first staff message on the conversation's open escalation stops its SLA clock:
    recorded once per escalation, None when there is none or it was answered already."""
    escalation = await session.scalar(
        select(Escalation)
        .where(Escalation.conversation_id == conversation.id, Escalation.status != "closed")
        .order_by(Escalation.created_at.desc())
    )
    if escalation is None:
        return None
    answered = await session.scalars(
        select(OutcomeEvent).where(
            OutcomeEvent.conversation_id == conversation.id,
            OutcomeEvent.kind == OutcomeKind.FIRST_RESPONSE,
        )
    )
    if any((e.detail or {}).get("escalation_id") == escalation.id for e in answered):
        return None
    return record(
        session,
        OutcomeKind.FIRST_RESPONSE,
        conversation_id=conversation.id,
        channel=conversation.channel,
        detail={"escalation_id": escalation.id},
        staff_id=staff_id,
    )


async def first_responses(
    session: AsyncSession, conversation_ids: list[str]
) -> dict[str, OutcomeEvent]:
    """First staff responses by escalation id, for the given conversations."""
    if not conversation_ids:
        return {}
    rows = await session.scalars(
        select(OutcomeEvent).where(
            OutcomeEvent.conversation_id.in_(conversation_ids),
            OutcomeEvent.kind == OutcomeKind.FIRST_RESPONSE,
        )
    )
    return {str((r.detail or {}).get("escalation_id")): r for r in rows}
