"""The conversation view: `GET /api/staff/conversations/{id}`.

One timeline in time order with every entry told apart by `kind`: `customer`, `bot`, `staff`,
`system` (notices the customer saw: approval outcomes, hand-back), `note` (internal, never
shown to the customer) and `event` (what happened: escalated, assigned, resolved, reopened,
an approval decision, a rating). Beside it the escalation record, the verified customer with
orders and returns, and the conversation's actions waiting for a decision (approve / reject
through /api/staff/actions/{id}/...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from console.api import action_json
from console.auth import Staff
from console.customer import customer_view
from console.notes import notes_of
from console.staff import escalation_json
from storage import repo
from storage.tables import LIVE_ACTION_STATUSES, AuditEntry, Escalation, PendingAction
from storage.tables_helpdesk import as_utc
from storage.tables_widget import OutcomeEvent, OutcomeKind
from web.attachments import for_conversations
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff", tags=["conversations"])

KIND_OF_ROLE = {"customer": "customer", "assistant": "bot", "staff": "staff", "system": "system"}
SHOWN_EVENTS = (
    OutcomeKind.ESCALATION,
    OutcomeKind.RESOLUTION,
    OutcomeKind.REOPEN,
    OutcomeKind.APPROVAL,
    OutcomeKind.CSAT,
)
STAFF_TOOLS = ("assign",)  # audit rows of staff actions shown as events


def event_text(event: OutcomeEvent) -> str:
    d = event.detail or {}
    if event.kind == OutcomeKind.ESCALATION:
        return f"Escalated to staff: {str(d.get('reason', '')).replace('_', ' ')} " \
               f"({d.get('priority', 'normal')} priority)"
    if event.kind == OutcomeKind.RESOLUTION:
        if d.get("by") == "customer":
            return "The customer said this solved it"
        how = "Handed back to the bot" if d.get("how") == "hand_back" else "Resolved"
        return f"{how} by {event.staff_id or 'staff'}"
    if event.kind == OutcomeKind.REOPEN:
        return "Reopened: the customer wrote again"
    if event.kind == OutcomeKind.APPROVAL:
        return f"Action {d.get('kind', '')} {d.get('outcome', 'decided')} by " \
               f"{event.staff_id or 'staff'}"
    if event.kind == OutcomeKind.CSAT:
        return f"Rated {event.score}/5"
    return str(event.kind)


def _entry(
    *, id: str, kind: str, role: str, text: str, at: datetime, **extra: Any
) -> dict[str, Any]:
    return {"id": id, "kind": kind, "role": role, "text": text, "created_at": at, **extra}


@router.get("/conversations/{conversation_id}")
async def conversation(conversation_id: str, services: ServicesDep, _: Staff) -> Any:
    """The conversation for staff: `messages` is the timeline (customer, bot, staff, system,
    internal `note`, `event`) oldest first; `escalation` the open record (`escalations` all of
    them); `customer` the verified customer with orders and returns (null if not verified);
    `pending_actions` the actions waiting for the customer or for staff; `channel` web or
    email (a staff reply reaches the widget live, or goes out by email)."""
    async with services.sessions() as session:
        found = await repo.get_conversation(session, conversation_id)
        if found is None:
            raise HTTPException(404, "no such conversation")
        rows = await repo.history(session, conversation_id)
        escalation = await repo.open_escalation(session, conversation_id)
        every = list(
            await session.scalars(
                select(Escalation)
                .where(Escalation.conversation_id == conversation_id)
                .order_by(Escalation.created_at)
            )
        )
        photos = await for_conversations(session, [conversation_id], services.settings)
        notes = await notes_of(session, conversation_id)
        events = list(
            await session.scalars(
                select(OutcomeEvent)
                .where(
                    OutcomeEvent.conversation_id == conversation_id,
                    OutcomeEvent.kind.in_([str(k) for k in SHOWN_EVENTS]),
                )
                .order_by(OutcomeEvent.created_at)
            )
        )
        audit = list(
            await session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.conversation_id == conversation_id,
                    AuditEntry.tool.in_(STAFF_TOOLS),
                )
                .order_by(AuditEntry.id)
            )
        )
        actions = list(
            await session.scalars(
                select(PendingAction)
                .where(
                    PendingAction.conversation_id == conversation_id,
                    PendingAction.status.in_([str(s) for s in LIVE_ACTION_STATUSES]),
                )
                .order_by(PendingAction.created_at)
            )
        )
    attachments = photos.get(conversation_id, [])
    timeline = [
        _entry(
            id=m.id,
            kind=KIND_OF_ROLE.get(m.role, m.role),
            role=m.role,
            text=m.text,
            at=as_utc(m.created_at),
            seq=m.seq,
        )
        for m in rows
        if m.role != "tool" and m.text
    ]
    timeline += [
        _entry(id=n.id, kind="note", role="note", text=n.text, at=as_utc(n.created_at),
               staff_id=n.staff_id)
        for n in notes
    ]
    timeline += [
        _entry(id=e.id, kind="event", role="event", text=event_text(e), at=as_utc(e.created_at),
               event=str(e.kind))
        for e in events
    ]
    timeline += [
        _entry(id=f"audit-{a.id}", kind="event", role="event",
               text=f"Assigned to {(a.args or {}).get('to')} by {a.actor.removeprefix('staff:')}",
               at=as_utc(a.created_at), event=a.tool)
        for a in audit
    ]
    # stable: messages keep their seq order when timestamps tie (one turn's rows share one)
    timeline.sort(key=lambda e: e["created_at"])
    for entry in timeline:
        entry["created_at"] = entry["created_at"].isoformat()
    return {
        "id": found.id,
        "channel": found.channel,
        "owner": found.owner,
        "owner_staff_id": found.owner_staff_id,
        "owner_version": found.owner_version,
        "verified_customer_id": found.verified_customer_id,
        "escalation": (
            {**escalation_json(escalation, found), "attachments": attachments}
            if escalation
            else None
        ),
        "escalations": [escalation_json(e, found) for e in every],
        "customer": (
            view.model_dump(mode="json")
            if (view := await customer_view(services.store, found.verified_customer_id))
            else None
        ),
        "pending_actions": [
            {
                **action_json(a),
                "approve_url": f"/api/staff/actions/{a.id}/approve",
                "reject_url": f"/api/staff/actions/{a.id}/reject",
            }
            for a in actions
        ],
        "attachments": attachments,  # the customer's photos (GET /api/staff/attachments/{id})
        "messages": timeline,
    }
