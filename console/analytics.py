"""`GET /api/staff/analytics?days=N`: how support went, from the outcome events recorded as
things happened (storage/outcomes.py) and the conversations and messages they belong to.
Every figure is defined in docs/metrics.md; the names here are the names there."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from console.auth import Staff
from console.unanswered import unanswered_groups
from storage.tables import ActionStatus, Conversation, Message, Owner, PendingAction, utcnow
from storage.tables_helpdesk import as_utc
from storage.tables_widget import OutcomeEvent, OutcomeKind
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff", tags=["analytics"])

ASSUMED_AFTER = timedelta(hours=24)  # no customer reply this long after the bot's last answer
DURABLE_AFTER = timedelta(days=7)  # not reopened this long after the resolution
APPROVAL_STALE = timedelta(hours=72)  # an approval nobody decided in this long has expired
TOP = 10
EVENT_COLUMNS = (
    OutcomeEvent.conversation_id,
    OutcomeEvent.kind,
    OutcomeEvent.score,
    OutcomeEvent.detail,
    OutcomeEvent.created_at,
)


class DayCount(BaseModel):
    day: str
    conversations: int


class Resolutions(BaseModel):
    confirmed: int = Field(description="the customer said it helped, or rated 4-5")
    assumed: int = Field(description="no customer reply within 24 h of the bot's last answer")
    staff: int = Field(description="resolved or handed back by staff")
    durable: int = Field(description="resolutions not reopened within 7 days")
    durable_eligible: int = Field(description="resolutions at least 7 days old (durable's base)")


class Csat(BaseModel):
    count: int
    average: float | None
    distribution: dict[str, int]


class Latency(BaseModel):
    turns: int
    p50_ms: int | None
    p95_ms: int | None


class Analytics(BaseModel):
    days: int
    since: datetime
    until: datetime
    conversations_per_day: list[DayCount]
    resolutions: Resolutions
    escalations_by_reason: dict[str, int]
    approvals: dict[str, int] = Field(description="approved / rejected / expired")
    csat_bot: Csat
    csat_staff: Csat
    reply_latency: Latency
    top_intents: list[dict[str, Any]]
    top_unanswered: list[dict[str, Any]]


def percentile(values: list[int], share: float) -> int | None:
    """Nearest-rank percentile (no interpolation): the value a share of turns stay under."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def csat_summary(scores: list[int]) -> Csat:
    return Csat(
        count=len(scores),
        average=round(sum(scores) / len(scores), 2) if scores else None,
        distribution={str(n): scores.count(n) for n in range(1, 6)},
    )


async def _customer_times(
    session: Any, ids: set[str], since: datetime
) -> dict[str, list[datetime]]:
    """Customer message times per conversation, from `since` on."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Message.conversation_id, Message.created_at).where(
            Message.conversation_id.in_(ids),
            Message.role == "customer",
            Message.created_at >= since,
        )
    )
    times: dict[str, list[datetime]] = defaultdict(list)
    for cid, at in rows:
        times[cid].append(as_utc(at))
    return times


def _replied_within(times: list[datetime], after: datetime, window: timedelta) -> bool:
    return any(after < t <= after + window for t in times)


async def compute(session: Any, *, days: int, now: datetime) -> dict[str, Any]:
    # `days` calendar days (UTC), today included
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    # plain rows, not ORM objects: building 20,000 instances took most of a request's time
    events = (
        await session.execute(
            select(*EVENT_COLUMNS)
            .where(
                # the (kind, created_at) index serves this
                OutcomeEvent.kind.in_([str(k) for k in OutcomeKind]),
                OutcomeEvent.created_at >= since,
            )
            .order_by(OutcomeEvent.created_at)
        )
    ).all()
    by_kind: dict[str, list[Any]] = defaultdict(list)
    for e in events:
        by_kind[e.kind].append(e)

    # conversations per day (every day of the window, zeros included)
    per_day = Counter(
        as_utc(at).date().isoformat()
        for at in await session.scalars(
            select(Conversation.created_at).where(Conversation.created_at >= since)
        )
    )
    day_list = [
        DayCount(day=(since + timedelta(days=i)).date().isoformat(), conversations=0)
        for i in range((now.date() - since.date()).days + 1)
    ]
    for d in day_list:
        d.conversations = per_day.get(d.day, 0)

    # resolutions: when each conversation was resolved, and how
    resolved_at: dict[str, tuple[datetime, str]] = {}
    confirmed: set[str] = set()
    for e in by_kind[OutcomeKind.RESOLUTION]:
        if (e.detail or {}).get("by") == "customer":
            confirmed.add(str(e.conversation_id))
            resolved_at[str(e.conversation_id)] = (as_utc(e.created_at), "confirmed")
    for e in by_kind[OutcomeKind.CSAT]:
        if (e.score or 0) >= 4:
            confirmed.add(str(e.conversation_id))
            resolved_at.setdefault(str(e.conversation_id), (as_utc(e.created_at), "confirmed"))
    staff_resolved: set[str] = set()
    for e in by_kind[OutcomeKind.RESOLUTION]:
        cid = str(e.conversation_id)
        if (e.detail or {}).get("by") == "staff" and cid not in confirmed:
            staff_resolved.add(cid)
            resolved_at[cid] = (as_utc(e.created_at), "staff")

    last_turn: dict[str, Any] = {}
    for e in by_kind[OutcomeKind.TURN]:
        last_turn[str(e.conversation_id)] = e  # events are in time order
    candidates = {
        cid: e
        for cid, e in last_turn.items()
        if cid not in confirmed
        and cid not in staff_resolved
        and not (e.detail or {}).get("escalated")
        and as_utc(e.created_at) + ASSUMED_AFTER <= now
    }
    owners: dict[str, str] = {}
    if candidates:
        found = await session.execute(
            select(Conversation.id, Conversation.owner).where(
                Conversation.id.in_(list(candidates))
            )
        )
        owners = dict(found.all())  # type: ignore[arg-type]
    watched = set(candidates) | set(resolved_at)
    customer_times = await _customer_times(session, watched, since)
    assumed: set[str] = set()
    for cid, turn in candidates.items():
        if owners.get(cid) in (Owner.QUEUED, Owner.HUMAN):
            continue
        at = as_utc(turn.created_at)
        if not _replied_within(customer_times.get(cid, []), at, ASSUMED_AFTER):
            assumed.add(cid)
            resolved_at.setdefault(cid, (at, "assumed"))

    reopened: dict[str, list[datetime]] = defaultdict(list)
    for e in by_kind[OutcomeKind.REOPEN]:
        reopened[str(e.conversation_id)].append(as_utc(e.created_at))
    durable = eligible = 0
    for cid, (at, _how) in resolved_at.items():
        if at + DURABLE_AFTER > now:
            continue  # too recent to tell
        eligible += 1
        came_back = reopened.get(cid, []) + customer_times.get(cid, [])
        if not _replied_within(came_back, at, DURABLE_AFTER):
            durable += 1

    # escalations by reason
    reasons = Counter(
        str((e.detail or {}).get("reason") or "other") for e in by_kind[OutcomeKind.ESCALATION]
    )

    # approvals: staff decisions (events), and approvals that expired undecided
    approvals = Counter({"approved": 0, "rejected": 0, "expired": 0})
    for e in by_kind[OutcomeKind.APPROVAL]:
        approvals[str((e.detail or {}).get("outcome"))] += 1
    approvals["expired"] += int(
        await session.scalar(
            select(func.count())
            .select_from(PendingAction)
            .where(
                PendingAction.needs_approval.is_(True),
                PendingAction.created_at >= since,
                (
                    (PendingAction.status == ActionStatus.EXPIRED)
                    | (
                        (PendingAction.status == ActionStatus.AWAITING_APPROVAL)
                        & (PendingAction.created_at <= now - APPROVAL_STALE)
                    )
                ),
            )
        )
        or 0
    )

    # CSAT: staff when a staff member had answered the conversation before the rating
    staff_answered: dict[str, list[datetime]] = defaultdict(list)
    for e in (
        await session.execute(
            select(*EVENT_COLUMNS).where(
                OutcomeEvent.kind == OutcomeKind.FIRST_RESPONSE,
                OutcomeEvent.conversation_id.in_(
                    list({str(c.conversation_id) for c in by_kind[OutcomeKind.CSAT]})
                ),
            )
        )
    ):
        staff_answered[str(e.conversation_id)].append(as_utc(e.created_at))
    bot_scores: list[int] = []
    staff_scores: list[int] = []
    for e in by_kind[OutcomeKind.CSAT]:
        at = as_utc(e.created_at)
        by_staff = any(t <= at for t in staff_answered.get(str(e.conversation_id), []))
        (staff_scores if by_staff else bot_scores).append(int(e.score or 0))

    latencies = [int(e.score) for e in by_kind[OutcomeKind.TURN] if e.score is not None]
    intents = Counter(
        str((e.detail or {}).get("intent") or "unknown") for e in by_kind[OutcomeKind.TURN]
    )
    unanswered = await unanswered_groups(session, since=since, limit=TOP)
    return Analytics(
        days=days,
        since=since,
        until=now,
        conversations_per_day=day_list,
        resolutions=Resolutions(
            confirmed=len(confirmed),
            assumed=len(assumed),
            staff=len(staff_resolved),
            durable=durable,
            durable_eligible=eligible,
        ),
        escalations_by_reason=dict(reasons.most_common()),
        approvals=dict(approvals),
        csat_bot=csat_summary(bot_scores),
        csat_staff=csat_summary(staff_scores),
        reply_latency=Latency(
            turns=len(latencies),
            p50_ms=percentile(latencies, 0.50),
            p95_ms=percentile(latencies, 0.95),
        ),
        top_intents=[{"intent": k, "turns": n} for k, n in intents.most_common(TOP)],
        top_unanswered=[
            {"question": g.question, "count": g.count, "last_at": g.last_at} for g in unanswered
        ],
    ).model_dump(mode="json")


@router.get("/analytics", response_model=Analytics)
async def analytics(
    services: ServicesDep,
    _: Staff,
    days: Annotated[int, Query(ge=1, le=365, description="calendar days, today included")] = 30,
) -> Any:
    """Support figures over the last `days` days (UTC), defined in docs/metrics.md."""
    clock = getattr(services.deps, "clock", utcnow)
    async with services.sessions() as session:
        return await compute(session, days=days, now=as_utc(clock()))
