"""The whole-turn JSON shape shared by POST /api/chat and `support-agent ask --json`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agent.events import TurnEvent, TurnResult


async def collect(events: AsyncIterator[TurnEvent]) -> TurnResult:
    result: TurnResult | None = None
    async for event in events:
        if isinstance(event, TurnResult):
            result = event
    if result is None:  # the runner always ends with a TurnResult
        raise RuntimeError("turn ended without a result")
    return result


def turn_json(result: TurnResult) -> dict[str, Any]:
    return {
        "conversation_id": result.conversation_id,
        "reply": result.text,
        "citations": [{"id": c.id, "title": c.title} for c in result.citations],
        "tool_calls": [{"name": t.name, "args": t.args, "ok": t.ok} for t in result.tool_calls],
        "owner": result.owner,
        "escalation": (
            {"id": result.escalation.escalation_id, "reason": result.escalation.reason}
            if result.escalation
            else None
        ),
    }
