"""Hand the conversation to the human team."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langchain.tools import ToolRuntime

import metrics
from errors import ToolError
from helpdesk.escalations import open_escalation
from helpdesk.hours import handoff_notice, handoff_timing
from helpdesk.ownership import OwnershipError
from storage import repo
from storage.tables import Owner
from tools.base import ToolKind, support_tool
from tools.context import SupportContext
from web.clientip import ip_bucket

Reason = Literal[
    "customer_request", "unanswered", "policy_exception", "complaint", "legal_or_safety", "other"
]


async def ticket_inputs(
    ctx: SupportContext,
) -> tuple[dict[str, Any] | None, dict[str, str | None] | None]:
    """Triage of the customer's message and the verified requester, for a ticket."""
    deps = ctx.deps
    triage = None
    if deps.triage is not None and (text := triage_text(ctx)):
        triage = await asyncio.to_thread(deps.triage, text)
    customer = None
    if ctx.customer_id:
        found = await deps.store.get_customer(ctx.customer_id)
        customer = {"name": found.name, "email": found.email} if found else None
    return triage, customer


def triage_text(ctx: SupportContext) -> str:
    """What the ticket is triaged on: this turn's message, or, when it is a few words that only
    accept an offer ("yes please", "ok"), the customer's earlier messages with it."""
    text = ctx.customer_text.strip()
    if len(text.split()) > SHORT_REPLY_WORDS or not ctx.earlier_customer_texts:
        return text
    return "\n".join([*ctx.earlier_customer_texts, text])


SHORT_REPLY_WORDS = 3
ESCALATION_CAP_WINDOW_S = 3600


async def over_escalation_cap(ctx: SupportContext) -> bool:
    """The one cap on queue entries a client opens: `escalations_per_client_per_hour` per
    conversation and per client IP. Counts this entry when it is allowed. Beyond the cap the
    customer hears that a colleague already has the request, and staff see no new entry."""
    throttle, limit = ctx.deps.throttle, ctx.deps.settings.escalations_per_client_per_hour
    keys = [throttle.key("escalate:conversation", ctx.conversation_id)]
    if ctx.client_ip:
        keys.append(throttle.key("escalate:ip", ip_bucket(ctx.client_ip)))
    for key in keys:
        if not (await throttle.hit(key, limit=limit, window_s=ESCALATION_CAP_WINDOW_S)).allowed:
            return True
    return False


async def escalate(ctx: SupportContext, reason: str, summary: str) -> dict[str, Any]:
    """The escalation path shared by the tool and the runner's code triggers."""
    deps, settings = ctx.deps, ctx.deps.settings
    hours = {
        "spec": settings.business_hours,
        "timezone": settings.business_timezone,
        "usual_wait_minutes": settings.usual_wait_minutes,
    }
    now = deps.clock()
    notice = handoff_notice(now, **hours)
    # the same, as data: the offline engine words it in the customer's language
    timing = handoff_timing(now, **hours)
    if await over_escalation_cap(ctx):
        return {
            "escalation_id": None,
            "status": "capped",
            "already": True,
            "notice": notice,
            "timing": timing,
        }
    triage, customer = await ticket_inputs(ctx)
    async with deps.sessions.begin() as session:
        conversation = await repo.get_conversation(session, ctx.conversation_id)
        if conversation is None:
            raise ToolError("This conversation no longer exists.")
        existing = await repo.open_escalation(session, ctx.conversation_id)
        if existing is not None and conversation.owner != Owner.BOT:
            ctx.escalation = (existing.id, existing.reason)
            return {
                "escalation_id": existing.id,
                "status": conversation.owner,
                "already": True,
                "notice": notice,
                "timing": timing,
            }
        try:
            escalation = await open_escalation(
                session,
                conversation_id=ctx.conversation_id,
                expected_version=ctx.owner_version,
                reason=reason,
                model_summary=summary[:2000],
                channel=ctx.channel,
                helpdesk=settings.helpdesk,
                triage=triage,
                customer=customer,
            )
        except OwnershipError as exc:
            raise ToolError("The conversation changed hands while this was being done.") from exc
    ctx.owner_version += 1
    ctx.escalation = (escalation.id, reason)
    metrics.escalation_opened(reason)
    if deps.on_escalation is not None:
        deps.on_escalation()
    return {
        "escalation_id": escalation.id,
        "status": Owner.QUEUED.value,
        "already": False,
        "priority": escalation.priority,
        "notice": notice,
        "timing": timing,
    }


@support_tool(ToolKind.WRITE, label="Connecting you with our team...")
async def escalate_to_human(
    reason: Reason, summary: str, runtime: ToolRuntime[SupportContext]
) -> dict[str, Any]:
    """Hand this conversation to the human support team and stop answering it.

    Call it at once when the customer asks for a person, and when you cannot help. After it,
    tell the customer the returned `notice` (when a team member will reply, in this
    conversation).

    Args:
        reason: Why a human is needed.
        summary: Two or three sentences for the staff member: what the customer wants and what
            was already tried.
    """
    return await escalate(runtime.context, reason, summary)
