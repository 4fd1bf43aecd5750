"""Staff alerts: warnings with no customer waiting behind them (a wave of failed verifications,
and later other abuse signals). An alert is an escalation row of kind "alert" with no
conversation, so it shows in the staff queue beside the customers, plus one warning log line.

One open alert per code per window: a sustained attack keeps one entry in the queue instead of
burying the customers who wait there."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import Escalation, utcnow

log = logging.getLogger(__name__)

ALERT = "alert"


async def raise_alert(
    session: AsyncSession,
    code: str,
    text: str,
    details: dict[str, Any],
    *,
    window_s: float = 3600,
    now: datetime | None = None,
) -> Escalation | None:
    """Inside the caller's transaction. Returns the new alert, or None when an open alert with
    this code was already raised inside the window."""
    now = now or utcnow()
    existing = await session.scalar(
        select(Escalation.id)
        .where(
            Escalation.kind == ALERT,
            Escalation.reason == code,
            Escalation.status != "closed",
            Escalation.created_at > now - timedelta(seconds=window_s),
        )
        .limit(1)
    )
    if existing is not None:
        return None
    alert = Escalation(
        kind=ALERT,
        conversation_id=None,
        reason=code[:50],
        summary=text,
        status="open",
        category="security",
        priority="urgent",
        details={"code": code, **details},
        created_at=now,
    )
    session.add(alert)
    await session.flush()
    log.warning("staff alert %s: %s", code, text)
    return alert
