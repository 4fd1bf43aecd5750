"""Outcome events (table `outcome_events`, kinds in storage/tables_widget.py): how
conversations ended, as the customer or the staff said. Written here, read by the console."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import Conversation
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
