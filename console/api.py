"""The staff API: approvals of actions above the store's rules (who may call: console/auth.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from agent.confirmation import outcome_text, say
from bus import announce
from console.auth import Staff, acting_staff_id
from console.notify import notify_customer
from errors import BackendError, ToolError
from storage import outcomes
from storage.tables import Conversation, Escalation, PendingAction
from storage.tables_widget import OutcomeKind
from tools import actions
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff")


class Decision(BaseModel):
    note: str = Field(default="", max_length=2000)
    # bearer calls only (default "staff"); a session call acts as its staff member
    staff_id: str | None = Field(default=None, min_length=1, max_length=64)


def action_json(action: PendingAction) -> dict[str, Any]:
    return {
        "id": action.id,
        "conversation_id": action.conversation_id,
        "kind": action.kind,
        "order_number": action.order_number,
        "summary": action.summary,
        "status": action.status,
        "needs_approval": action.needs_approval,
        "approval_reason": action.approval_reason,
        "result": action.result,
        "error": action.error,
        "created_at": action.created_at.isoformat(),
        "decided_by": action.decided_by,
    }


async def decided(services: Any, action: PendingAction, outcome: str, staff_id: str) -> None:
    """A staff decision: an outcome event (analytics) and a staff bus event (live consoles)."""
    async with services.sessions.begin() as session:
        conversation = await session.get(Conversation, action.conversation_id)
        outcomes.record(
            session,
            OutcomeKind.APPROVAL,
            conversation_id=action.conversation_id,
            channel=conversation.channel if conversation else "web",
            detail={"action_id": action.id, "outcome": outcome, "kind": action.kind},
            staff_id=staff_id,
        )
        closed = await _close_approval_escalation(session, action.conversation_id)
    await announce(
        services.bus,
        {
            "type": "action",
            "action_id": action.id,
            "conversation_id": action.conversation_id,
            "status": action.status,
            "outcome": outcome,
        },
    )
    for escalation_id in closed:
        await announce(
            services.bus,
            {
                "type": "escalation",
                "action": "closed",
                "escalation_id": escalation_id,
                "conversation_id": action.conversation_id,
                "status": "closed",
            },
        )


async def _close_approval_escalation(session: Any, conversation_id: str) -> list[str]:
    """A decided action takes its "approval required" entry off the queue, unless another
    action of the same conversation still awaits a decision. Escalations for other reasons
    (the customer asked for a person, ...) stay open. Returns the ids closed."""
    waiting = await session.scalar(
        select(PendingAction.id).where(
            PendingAction.conversation_id == conversation_id,
            PendingAction.status == actions.ActionStatus.AWAITING_APPROVAL,
        )
    )
    if waiting is not None:
        return []
    rows = (
        await session.scalars(
            select(Escalation).where(
                Escalation.conversation_id == conversation_id,
                Escalation.reason == "approval_required",
                Escalation.status != "closed",
            )
        )
    ).all()
    for row in rows:
        row.status = "closed"
    return [row.id for row in rows]


@router.get("/actions")
async def list_actions(
    services: ServicesDep, _: Staff, status: Annotated[str | None, Query(max_length=30)] = None
) -> Any:
    query = select(PendingAction).order_by(PendingAction.created_at.desc()).limit(200)
    if status:
        query = query.where(PendingAction.status == status)
    async with services.sessions() as session:
        return [action_json(a) for a in (await session.scalars(query)).all()]


@router.post("/actions/{action_id}/approve")
async def approve(
    action_id: str, body: Decision, services: ServicesDep, principal: Staff
) -> Any:
    body.staff_id = acting_staff_id(principal, body.staff_id)
    try:
        action = await actions.approve(services.deps, action_id, staff_id=body.staff_id)
    except ToolError as exc:
        raise HTTPException(409, str(exc)) from exc
    except BackendError as exc:
        raise HTTPException(503, f"the store is unavailable, try again: {exc}") from exc
    text = (
        say("approved_notice", outcome=outcome_text(action))
        if (action.status == "executed")
        else outcome_text(action)
    )
    await decided(services, action, "approved", body.staff_id)
    await notify_customer(services, action.conversation_id, text, role="system")
    return action_json(action)


@router.post("/actions/{action_id}/reject")
async def reject(
    action_id: str, body: Decision, services: ServicesDep, principal: Staff
) -> Any:
    body.staff_id = acting_staff_id(principal, body.staff_id)
    if not await actions.decline(
        services.deps, action_id, by=f"staff:{body.staff_id}", status=actions.ActionStatus.REJECTED
    ):
        raise HTTPException(409, "this action is not awaiting a decision")
    action = await actions.reload(services.deps, action_id)
    await decided(services, action, "rejected", body.staff_id)
    await notify_customer(
        services,
        action.conversation_id,
        say("rejected_notice", summary=action.summary.rstrip("."), note=body.note).strip(),
        role="system",
    )
    return action_json(action)
