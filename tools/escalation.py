"""Hand the conversation to the human team."""

from __future__ import annotations

from typing import Any, Literal

from langchain.tools import ToolRuntime

from errors import ToolError
from storage import repo
from storage.tables import Owner
from tools.base import ToolKind, support_tool
from tools.context import SupportContext

Reason = Literal[
    "customer_request", "unanswered", "policy_exception", "complaint", "legal_or_safety", "other"
]


@support_tool(ToolKind.WRITE, label="Connecting you with our team...")
async def escalate_to_human(
    reason: Reason, summary: str, runtime: ToolRuntime[SupportContext]
) -> dict[str, Any]:
    """Hand this conversation to the human support team and stop answering it.

    Call it at once when the customer asks for a person, and when you cannot help. After it,
    tell the customer a team member will reply in this conversation.

    Args:
        reason: Why a human is needed.
        summary: Two or three sentences for the staff member: what the customer wants and what
            was already tried.
    """
    ctx = runtime.context
    async with ctx.deps.sessions.begin() as session:
        conversation = await repo.get_conversation(session, ctx.conversation_id)
        if conversation is None:
            raise ToolError("This conversation no longer exists.")
        existing = await repo.open_escalation(session, ctx.conversation_id)
        if existing is not None and conversation.owner != Owner.BOT:
            ctx.escalation = (existing.id, existing.reason)
            return {"escalation_id": existing.id, "status": conversation.owner, "already": True}
        if not await repo.change_owner(
            session, ctx.conversation_id, expected_version=ctx.owner_version, owner=Owner.QUEUED
        ):
            raise ToolError("The conversation changed hands while this was being done.")
        escalation = await repo.add_escalation(
            session,
            conversation_id=ctx.conversation_id,
            reason=reason,
            summary=summary[:2000],
            customer_id=ctx.customer_id,
        )
    ctx.owner_version += 1
    ctx.escalation = (escalation.id, reason)
    return {"escalation_id": escalation.id, "status": Owner.QUEUED.value, "already": False}
