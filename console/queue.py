"""The staff queue: open escalations with their first-response SLA, filters and search, and
assigning a conversation to a staff member.

The SLA clock runs in business hours (helpdesk/hours.py): an escalation opened on Friday
evening is due on Monday morning. It stops at the first staff message (an outcome event,
storage/outcomes.py); the state is then frozen at what it was when the answer went out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from bus import announce
from console.auth import Staff, acting_staff_id
from helpdesk.hours import add_business_minutes, business_minutes_between
from storage import outcomes, repo
from storage.tables import Conversation, Escalation, Message, Owner, utcnow
from storage.tables_console import StaffMember
from storage.tables_helpdesk import as_utc
from web.attachments import for_conversations
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff", tags=["queue"])

DEFAULT_SLA_MINUTES = {"urgent": 15, "high": 60, "normal": 240, "low": 1440}
PRIORITY_ORDER = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
WARNING_SHARE = 0.25  # "warning" once less than a quarter of the allowed time is left

SlaState = Literal["ok", "warning", "breached"]


class Sla(BaseModel):
    target_minutes: int = Field(description="business minutes allowed for the first response")
    due_at: datetime = Field(description="when the first staff response is due (UTC)")
    business_minutes_elapsed: float = Field(
        description="business minutes from the escalation to the first response, or to now"
    )
    state: SlaState
    responded_at: datetime | None = Field(
        default=None, description="the first staff message; the SLA clock stopped there"
    )


class QueueItem(BaseModel):
    id: str
    kind: str = Field(description="'conversation', or 'alert': a warning with no customer")
    conversation_id: str | None
    channel: str | None
    reason: str
    status: str = Field(description="open | claimed | closed")
    category: str
    priority: str
    sentiment: str | None
    language: str | None
    summary: str
    details: dict[str, Any]
    suggested_reply: str
    created_at: datetime
    waiting_minutes: float = Field(description="wall-clock minutes since the escalation")
    sla: Sla
    owner: str | None = Field(description="bot | queued | human | resolved")
    owner_staff_id: str | None
    owner_version: int | None
    attachments: list[dict[str, Any]] = Field(default_factory=list)


def sla_minutes(settings: Any) -> dict[str, int]:
    return {**DEFAULT_SLA_MINUTES, **(getattr(settings, "sla_first_response_minutes", {}) or {})}


def sla_for(
    created_at: datetime,
    priority: str,
    *,
    settings: Any,
    now: datetime,
    responded_at: datetime | None = None,
) -> Sla:
    """The first-response SLA of an escalation opened at `created_at`."""
    spec, zone = settings.business_hours, settings.business_timezone
    target = sla_minutes(settings).get(priority, DEFAULT_SLA_MINUTES["normal"])
    created = as_utc(created_at)
    due = add_business_minutes(created, target, spec=spec, timezone=zone)
    until = as_utc(responded_at) if responded_at is not None else now
    elapsed = business_minutes_between(created, until, spec=spec, timezone=zone)
    state: SlaState = "ok"
    if until > due:
        state = "breached"
    elif elapsed >= target * (1 - WARNING_SHARE):
        state = "warning"
    return Sla(
        target_minutes=target,
        due_at=due,
        business_minutes_elapsed=round(elapsed, 1),
        state=state,
        responded_at=as_utc(responded_at) if responded_at is not None else None,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _customers(services: Any, ids: set[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for customer_id in ids:
        try:
            found[customer_id] = await services.store.get_customer(customer_id)
        except Exception:  # the store is down: search the rest of the record
            found[customer_id] = None
    return found


async def _matching(
    services: Any, session: Any, rows: list[tuple[Escalation, Conversation | None]], q: str
) -> set[str]:
    """Escalation ids whose record, customer or conversation text matches `q`."""
    needle = q.strip().lower()
    hits: set[str] = set()
    customers = await _customers(services, {e.customer_id for e, _ in rows if e.customer_id})
    bare = needle.lstrip("#")
    for e, _ in rows:
        orders = [str(o).lower().lstrip("#") for o in (e.details or {}).get("orders_discussed", [])]
        customer = customers.get(e.customer_id or "")
        texts = [e.summary or "", e.reason, e.category]
        if customer is not None:
            texts += [customer.email, customer.name]
        if (bare and bare in orders) or any(needle in t.lower() for t in texts if t):
            hits.add(e.id)
    ids = [e.conversation_id for e, _ in rows if e.conversation_id]
    if ids:
        said = await session.scalars(
            select(Message.conversation_id)
            .where(
                Message.conversation_id.in_(ids),
                Message.role != "tool",
                Message.text.ilike(f"%{_escape_like(q.strip())}%", escape="\\"),
            )
            .distinct()
        )
        matched = set(said)
        hits |= {e.id for e, _ in rows if e.conversation_id in matched}
    return hits


@router.get("/queue", response_model=list[QueueItem])
async def queue(
    services: ServicesDep,
    principal: Staff,
    status: Annotated[
        Literal["open", "claimed", "closed", "active", "all"] | None,
        Query(description="active (the default): open and claimed"),
    ] = None,
    priority: Annotated[str | None, Query(max_length=10)] = None,
    category: Annotated[str | None, Query(max_length=30)] = None,
    owner: Annotated[
        str | None,
        Query(max_length=64, description="me | unassigned | <staff id>"),
    ] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="customer email or name, order number, or text"),
    ] = None,
    include_closed: Annotated[bool, Query(description="same as status=all")] = False,
) -> Any:
    """The escalations staff work on, most urgent first (then oldest first), each with its
    waiting time and first-response SLA (ok / warning / breached, in business hours).
    `owner=me` is the signed-in staff member (for the bearer token: "staff")."""
    wanted = status or ("all" if include_closed else "active")
    query = (
        select(Escalation, Conversation)
        .outerjoin(Conversation, Conversation.id == Escalation.conversation_id)
        .order_by(Escalation.created_at)
    )
    if wanted == "active":
        query = query.where(Escalation.status != "closed")
    elif wanted != "all":
        query = query.where(Escalation.status == wanted)
    if priority:
        query = query.where(Escalation.priority == priority)
    if category:
        query = query.where(Escalation.category == category)
    if channel:
        query = query.where(Conversation.channel == channel)
    if owner == "unassigned":
        query = query.where(Conversation.owner_staff_id.is_(None))
    elif owner:
        who = acting_staff_id(principal, None) if owner == "me" else owner
        query = query.where(Conversation.owner_staff_id == who)
    now = utcnow()
    async with services.sessions() as session:
        rows = [(e, c) for e, c in (await session.execute(query)).all()]
        if q and q.strip():
            keep = await _matching(services, session, rows, q)
            rows = [(e, c) for e, c in rows if e.id in keep]
        ids = [e.conversation_id for e, _ in rows if e.conversation_id]
        photos = await for_conversations(session, ids, services.settings)
        answered = await outcomes.first_responses(session, ids)
    items = []
    for e, c in rows:
        first = answered.get(e.id)
        items.append(
            QueueItem(
                id=e.id,
                kind=e.kind,
                conversation_id=e.conversation_id,
                channel=c.channel if c else None,
                reason=e.reason,
                status=e.status,
                category=e.category,
                priority=e.priority,
                sentiment=e.sentiment,
                language=e.language,
                summary=e.summary,
                details=e.details or {},
                suggested_reply=e.suggested_reply,
                created_at=as_utc(e.created_at),
                waiting_minutes=round((now - as_utc(e.created_at)).total_seconds() / 60, 1),
                sla=sla_for(
                    e.created_at,
                    e.priority,
                    settings=services.settings,
                    now=now,
                    responded_at=first.created_at if first else None,
                ),
                owner=c.owner if c else None,
                owner_staff_id=c.owner_staff_id if c else None,
                owner_version=c.owner_version if c else None,
                attachments=photos.get(e.conversation_id or "", []),
            )
        )
    return sorted(items, key=lambda i: PRIORITY_ORDER.get(i.priority, 2))


class AssignBody(BaseModel):
    staff_id: str = Field(
        min_length=1, max_length=64, description="who takes the conversation (the assignee)"
    )
    expected_version: int | None = Field(
        default=None, description="the owner_version the caller saw; 409 if it changed"
    )


class Assigned(BaseModel):
    conversation_id: str
    owner: str
    owner_staff_id: str
    version: int


@router.post("/conversations/{conversation_id}/assign", response_model=Assigned)
async def assign(
    conversation_id: str, body: AssignBody, services: ServicesDep, principal: Staff
) -> Any:
    """Gives the conversation to a staff member (from the queue, the bot, or another staff
    member): a compare-and-set on the owner version, 409 on a race. With a session the
    assignee must be an active staff account; the bearer token names anyone."""
    actor = acting_staff_id(principal, None)
    async with services.sessions.begin() as session:
        if principal.via == "session":
            member = await session.get(StaffMember, body.staff_id)
            if member is None or member.disabled_at is not None:
                raise HTTPException(404, "no such active staff member")
        found = await repo.get_conversation(session, conversation_id)
        if found is None:
            raise HTTPException(404, "no such conversation")
        if found.owner == Owner.RESOLVED:
            raise HTTPException(409, "can't assign a resolved conversation")
        version = found.owner_version if body.expected_version is None else body.expected_version
        if not await repo.change_owner(
            session,
            conversation_id,
            expected_version=version,
            owner=Owner.HUMAN,
            staff_id=body.staff_id,
        ):
            raise HTTPException(409, "the conversation changed meanwhile")
        escalation = await repo.open_escalation(session, conversation_id)
        if escalation is not None:
            escalation.status = "claimed"
        await repo.add_audit(
            session,
            conversation_id=conversation_id,
            actor=f"staff:{actor}",
            tool="assign",
            kind="write",
            args={"to": body.staff_id},
            ok=True,
            result=f"{found.owner} -> human ({body.staff_id})",
        )
    await announce(
        services.bus,
        {
            "type": "ownership",
            "conversation_id": conversation_id,
            "owner": Owner.HUMAN.value,
            "owner_staff_id": body.staff_id,
            "version": version + 1,
            "escalation_id": escalation.id if escalation else None,
        },
    )
    return Assigned(
        conversation_id=conversation_id,
        owner=Owner.HUMAN.value,
        owner_staff_id=body.staff_id,
        version=version + 1,
    )
