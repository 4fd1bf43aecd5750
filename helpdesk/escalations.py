"""Opening an escalation: the ownership change, a record a human can act on without asking the
customer again, and the helpdesk ticket in the outbox, all in one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpdesk.connectors.base import TicketPayload, TranscriptLine
from helpdesk.outbox import enqueue_ticket
from helpdesk.ownership import transition
from helpdesk.routing import team_for
from masking import mask_text
from storage import outcomes, repo
from storage.tables import AuditEntry, Escalation, PendingAction
from storage.tables_widget import OutcomeKind

PRIORITY = {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"}
REASON_CATEGORY = {
    "customer_request": "human_request",
    "complaint": "complaint",
    "policy_exception": "return_refund",
    "legal_or_safety": "complaint",
}
SUGGESTED = {
    "order_status": "Hi {name}, thanks for your patience. I've checked order {order}: ",
    "delivery_problem": "Hi {name}, I'm sorry your delivery has gone wrong. I've looked into "
    "order {order} and ",
    "return_refund": "Hi {name}, thanks for waiting. About your return on order {order}: ",
    "cancellation": "Hi {name}, about cancelling order {order}: ",
    "complaint": "Hi {name}, I'm sorry about this experience, and thank you for telling us. ",
}


async def build_details(session: AsyncSession, conversation_id: str) -> dict[str, Any]:
    """What happened, from stored state (not from the model's prose)."""
    conversation = await repo.get_conversation(session, conversation_id)
    audit = (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.conversation_id == conversation_id)
            .order_by(AuditEntry.id)
        )
    ).all()
    orders: list[str] = []
    for entry in audit:
        number = (entry.args or {}).get("order_number")
        if number and number not in orders:
            orders.append(number)
    actions = (
        await session.scalars(
            select(PendingAction)
            .where(PendingAction.conversation_id == conversation_id)
            .order_by(PendingAction.created_at)
        )
    ).all()
    refusals = [f"{e.tool}: {mask_text(e.result[:200])}" for e in audit if not e.ok]
    return {
        "verified_customer": conversation.verified_customer_id if conversation else None,
        "orders_discussed": orders,
        "tools_used": [e.tool for e in audit],
        "refusals": refusals[-5:],
        "actions": [
            {
                "kind": a.kind,
                "order": a.order_number,
                # masked: the action's own row (staff API /actions) keeps the details
                "summary": mask_text(a.summary),
                "status": a.status,
                "why": mask_text(a.approval_reason or a.error or "") or None,
            }
            for a in actions
        ],
    }


def summary_text(
    reason: str, model_summary: str, details: dict[str, Any], triage: dict[str, Any] | None
) -> str:
    lines = [f"Reason: {reason.replace('_', ' ')}."]
    if model_summary:
        # the model's words can quote anything the customer typed, third parties included
        lines.append(mask_text(model_summary.strip()))
    customer = details.get("verified_customer")
    lines.append(f"Customer: {'verified (' + customer + ')' if customer else 'not verified'}.")
    if details["orders_discussed"]:
        lines.append("Orders discussed: " + ", ".join(details["orders_discussed"]) + ".")
    for action in details["actions"]:
        why = f" ({action['why']})" if action.get("why") else ""
        lines.append(f"Action: {action['summary']} — {action['status'].replace('_', ' ')}{why}.")
    for refusal in details["refusals"]:
        lines.append(f"Refused: {refusal}")
    if triage:
        lines.append(
            f"Triage: {triage['category']}, {triage['urgency']} urgency, "
            f"{triage['sentiment']} sentiment, language {triage['language']}."
        )
    return "\n".join(lines)


async def open_escalation(
    session: AsyncSession,
    *,
    conversation_id: str,
    expected_version: int,
    reason: str,
    model_summary: str,
    channel: str,
    helpdesk: str,
    triage: dict[str, Any] | None = None,
    customer: dict[str, str | None] | None = None,
    handoff: bool = True,
) -> Escalation:
    """Inside the caller's transaction: bot -> queued (unless `handoff` is False: a ticket is
    filed and the bot keeps the conversation), the escalation row, its outbox ticket."""
    if handoff:
        await transition(session, conversation_id, "escalate", expected_version=expected_version)
    details = await build_details(session, conversation_id)
    category = (triage or {}).get("category") or REASON_CATEGORY.get(reason, "other")
    urgency = (triage or {}).get("urgency", "normal")
    if reason == "legal_or_safety":
        urgency = "urgent"
    name = (customer or {}).get("name") or "there"
    order = details["orders_discussed"][-1] if details["orders_discussed"] else "your order"
    suggested = SUGGESTED.get(category, "Hi {name}, thanks for waiting. ").format(
        name=name.split(" ")[0], order=order
    )
    escalation = await repo.add_escalation(
        session,
        conversation_id=conversation_id,
        reason=reason,
        summary=summary_text(reason, model_summary, details, triage),
        customer_id=details["verified_customer"],
    )
    escalation.category, escalation.priority = category, PRIORITY.get(urgency, "normal")
    if reason == "customer_request" and urgency in ("low", "normal"):
        if await _after_delay_notice(session, conversation_id):
            escalation.priority = "low"  # taking up our offer after a delay notice (#17)
    escalation.sentiment = (triage or {}).get("sentiment")
    escalation.language = (triage or {}).get("language")
    details["team"] = team_for(category)
    outcomes.record(
        session,
        OutcomeKind.ESCALATION,
        conversation_id=conversation_id,
        channel=channel,
        detail={
            "escalation_id": escalation.id,
            "reason": reason,
            "category": category,
            "priority": escalation.priority,
        },
    )
    escalation.details, escalation.suggested_reply = details, suggested
    rows = await repo.history(session, conversation_id)
    transcript = [
        TranscriptLine(role=m.role, text=m.text[:2000], at=m.created_at)
        for m in rows
        if m.role in ("customer", "assistant", "staff", "system") and m.text
    ]
    first = next((m.text for m in rows if m.role == "customer"), "Customer conversation")
    await enqueue_ticket(
        session,
        target=helpdesk,
        ticket=TicketPayload(
            escalation_id=escalation.id,
            conversation_id=conversation_id,
            subject=f"[{category}] {mask_text(first[:120])}",
            summary=escalation.summary,
            requester_name=(customer or {}).get("name"),
            requester_email=(customer or {}).get("email"),
            transcript=transcript[-50:],
            category=category,
            priority=escalation.priority,
            tags=["support-agent", category, reason, f"team:{details['team']}"],
            channel=channel,
        ),
    )
    await session.flush()
    return escalation


async def _after_delay_notice(session: AsyncSession, conversation_id: str) -> bool:
    """The conversation holds a notice about a late or stuck parcel that offered a colleague
    (notifications/rules.yaml `offer_person`): asking for one is the expected follow-up, filed
    at low priority rather than jumping the queue."""
    from storage.tables_notify import Notification

    found = await session.scalar(
        select(Notification.id)
        .where(
            Notification.conversation_id == conversation_id,
            Notification.status == "sent",
            Notification.offered_person.is_(True),
        )
        .limit(1)
    )
    return found is not None
