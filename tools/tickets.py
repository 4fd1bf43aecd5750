"""Filing a ticket for the team without handing the conversation over."""

from __future__ import annotations

from typing import Any

from langchain.tools import ToolRuntime

from helpdesk.escalations import open_escalation
from tools.base import ToolKind, support_tool
from tools.context import SupportContext
from tools.escalation import over_escalation_cap, ticket_inputs


@support_tool(ToolKind.WRITE, label="Filing a ticket for our team...")
async def route_ticket(summary: str, runtime: ToolRuntime[SupportContext]) -> dict[str, Any]:
    """File a ticket for the support team (triaged: category, priority, team) while you keep
    helping. Use it for follow-ups a person must do later (a warranty claim with photos, a
    missing parcel investigation). For a customer who wants a person now, use
    escalate_to_human instead.

    Args:
        summary: What the team must do, with the order number and what the customer expects.
    """
    ctx = runtime.context
    deps = ctx.deps
    if await over_escalation_cap(ctx):
        return {"ticket_id": None, "already": True, "note": "Our team already has this request."}
    triage, customer = await ticket_inputs(ctx)
    async with deps.sessions.begin() as session:
        ticket = await open_escalation(
            session,
            conversation_id=ctx.conversation_id,
            expected_version=ctx.owner_version,
            reason="other",
            model_summary=summary[:2000],
            channel=ctx.channel,
            helpdesk=deps.settings.helpdesk,
            triage=triage,
            customer=customer,
            handoff=False,
        )
    if deps.on_escalation is not None:
        deps.on_escalation()
    return {
        "ticket_id": ticket.id,
        "category": ticket.category,
        "priority": ticket.priority,
        "team": ticket.details.get("team"),
    }
