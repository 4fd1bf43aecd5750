"""Staff work on conversations: the queue, a conversation with its record, claim, reply,
hand back to the bot, resolve. Every ownership change is a compare-and-set (409 on a race)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from bus import announce
from console.auth import AdminStaff, Staff, acting_staff_id
from console.notify import notify_customer
from helpdesk.outbox import dead_letters, outbox_counts, retry_dead
from helpdesk.ownership import OwnershipError, staff_may_reply, transition
from storage import outcomes, repo
from storage.tables import AuditEntry, Conversation, Escalation
from storage.tables_widget import OutcomeKind
from web.attachments import any_file
from web.customer_push import request_csat
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff")

HANDBACK_NOTICE = "You're back with our virtual assistant. Ask me anything, or ask for a person."


class StaffAction(BaseModel):
    # bearer calls only: who acts (default "staff"); a session call acts as its staff member
    # and is refused (422) when it sends one (console/auth.py: acting_staff_id)
    staff_id: str | None = Field(default=None, min_length=1, max_length=64)
    expected_version: int | None = None


class StaffReplyBody(StaffAction):
    text: str = Field(min_length=1, max_length=4000)


def escalation_json(e: Escalation, c: Conversation | None) -> dict[str, Any]:
    return {
        "id": e.id,
        # "alert": a warning for staff with no customer behind it (helpdesk/alerts.py)
        "kind": e.kind,
        "conversation_id": e.conversation_id,
        "reason": e.reason,
        "status": e.status,
        "category": e.category,
        "priority": e.priority,
        "sentiment": e.sentiment,
        "language": e.language,
        "summary": e.summary,
        "details": e.details,
        "suggested_reply": e.suggested_reply,
        "created_at": e.created_at.isoformat(),
        "owner": c.owner if c else None,
        "owner_staff_id": c.owner_staff_id if c else None,
        "owner_version": c.owner_version if c else None,
    }


# the queue itself: console/queue.py


# the conversation view: console/conversation.py


async def _move(services: Any, conversation_id: str, action: str, body: StaffAction) -> Any:
    try:
        async with services.sessions.begin() as session:
            moved = await transition(
                session,
                conversation_id,
                action,
                staff_id=body.staff_id,
                expected_version=body.expected_version,
            )
            escalation = await repo.open_escalation(session, conversation_id)
            if escalation is not None:
                escalation.status = {
                    "claim": "claimed",
                    "resolve": "closed",
                    "hand_back": "closed",
                }.get(action, escalation.status)
            if action in ("resolve", "hand_back") and moved.before != moved.after:
                found = await repo.get_conversation(session, conversation_id)
                outcomes.record(
                    session,
                    OutcomeKind.RESOLUTION,
                    conversation_id=conversation_id,
                    channel=found.channel if found else "web",
                    detail={"by": "staff", "how": action},
                    staff_id=body.staff_id,
                )
    except OwnershipError as exc:
        raise HTTPException(409 if exc.conflict or "can't" in str(exc) else 404, str(exc)) from exc
    await announce(
        services.bus,
        {
            "type": "ownership",
            "conversation_id": conversation_id,
            "owner": str(moved.after),
            "owner_staff_id": body.staff_id if moved.after == "human" else None,
            "version": moved.version,
            "escalation_id": escalation.id if escalation else None,
            "escalation_status": escalation.status if escalation else None,
        },
    )
    return {"conversation_id": conversation_id, "owner": moved.after, "version": moved.version}


@router.post("/conversations/{conversation_id}/claim")
async def claim(
    conversation_id: str, body: StaffAction, services: ServicesDep, principal: Staff
) -> Any:
    body.staff_id = acting_staff_id(principal, body.staff_id)
    return await _move(services, conversation_id, "claim", body)


@router.post("/conversations/{conversation_id}/reply")
async def reply(
    conversation_id: str, body: StaffReplyBody, services: ServicesDep, principal: Staff
) -> Any:
    """Sends a staff message to the customer. A queued conversation is claimed first; one
    owned by another staff member is refused."""
    body.staff_id = acting_staff_id(principal, body.staff_id)
    async with services.sessions() as session:
        found = await repo.get_conversation(session, conversation_id)
    if found is None:
        raise HTTPException(404, "no such conversation")
    if not staff_may_reply(found, body.staff_id):
        await _move(services, conversation_id, "claim", body)
    message_id = await notify_customer(
        services, conversation_id, body.text, role="staff", staff_id=body.staff_id
    )
    return {"message_id": message_id}


@router.post("/conversations/{conversation_id}/handback")
async def hand_back(
    conversation_id: str, body: StaffAction, services: ServicesDep, principal: Staff
) -> Any:
    body.staff_id = acting_staff_id(principal, body.staff_id)
    moved = await _move(services, conversation_id, "hand_back", body)
    await notify_customer(services, conversation_id, HANDBACK_NOTICE, role="system")
    await request_csat(services, conversation_id)
    return moved


@router.post("/conversations/{conversation_id}/resolve")
async def resolve(
    conversation_id: str, body: StaffAction, services: ServicesDep, principal: Staff
) -> Any:
    body.staff_id = acting_staff_id(principal, body.staff_id)
    moved = await _move(services, conversation_id, "resolve", body)
    await request_csat(services, conversation_id)
    return moved


@router.post("/alerts/{alert_id}/close")
async def close_alert(alert_id: str, services: ServicesDep, _: Staff) -> Any:
    """Takes a staff alert off the queue (it has no conversation to resolve); the same alert
    code may be raised again afterwards."""
    async with services.sessions.begin() as session:
        alert = await session.get(Escalation, alert_id)
        if alert is None or alert.kind != "alert":
            raise HTTPException(404, "no such alert")
        alert.status = "closed"
    return {"id": alert_id, "status": "closed"}


@router.get("/outbox")
async def outbox(services: ServicesDep, _: AdminStaff) -> Any:
    async with services.sessions() as session:
        counts = await outbox_counts(session)
        dead = await dead_letters(session)
    return {
        "counts": counts,
        "dead": [
            {
                "id": d.id,
                "kind": d.kind,
                "target": d.target,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "key": d.idempotency_key,
            }
            for d in dead
        ],
    }


@router.post("/outbox/{entry_id}/retry")
async def outbox_retry(entry_id: int, services: ServicesDep, _: AdminStaff) -> Any:
    async with services.sessions.begin() as session:
        if not await retry_dead(session, entry_id):
            raise HTTPException(409, "not a dead letter")
    services.outbox.notify()
    return {"retried": entry_id}


@router.get("/attachments/{attachment_id}")
async def attachment(attachment_id: str, services: ServicesDep, _: Staff) -> Any:
    """A customer's photo (the ids are in a conversation's `attachments`)."""
    return await any_file(services, attachment_id)


@router.get("/unanswered")
async def unanswered(
    services: ServicesDep, _: Staff, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Any:
    """Questions the help center could not answer (below the confidence floor), newest first:
    what to write next."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.tool == "search_help_center", AuditEntry.ok.is_(True))
        .order_by(AuditEntry.id.desc())
        .limit(limit * 5)
    )
    async with services.sessions() as session:
        rows = (await session.scalars(query)).all()
    found = []
    for row in rows:
        try:
            answerable = json.loads(row.result).get("answerable", True)
        except ValueError:
            continue
        if not answerable:
            found.append({"query": (row.args or {}).get("query"), "at": row.created_at.isoformat(),
                          "conversation_id": row.conversation_id})
    return found[:limit]
