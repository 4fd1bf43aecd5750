"""What a finished turn leaves behind: the reply's flags and citations, its outcome events, and
the result of a turn answered again from its stored reply."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage

from agent.events import Citation, TurnResult
from storage import outcomes
from storage.tables import Conversation, Message
from storage.tables_widget import OutcomeKind
from tools.context import SupportContext

# the intent of a turn the engine did not name, from the first tool it used
_TOOL_INTENT = {
    "search_help_center": "help_center",
    "escalate_to_human": "human",
    "verify_customer": "verification",
    "search_products": "product_question",
    "confirm_action": "confirmation",
}


def outcome_events(
    conversation: Conversation,
    customer_msg: Message,
    ctx: SupportContext,
    final: AIMessage,
    latency_ms: int,
) -> list[dict[str, Any]]:
    """Outcome events of a bot answer, for its commit (docs/metrics.md; the fields of
    storage/outcomes.py record): the turn with its latency and intent, and a resolution when
    the customer said the answer solved it."""
    engine = (final.response_metadata or {}).get("engine") or {}
    tools = [c.name for c in ctx.tool_calls]
    intent = (
        engine.get("intent")
        or engine.get("flow")
        or _TOOL_INTENT.get(tools[0] if tools else "", "chat")
    )
    events: list[dict[str, Any]] = [
        {
            "kind": OutcomeKind.TURN,
            "conversation_id": conversation.id,
            "channel": conversation.channel,
            "score": latency_ms,
            "detail": {
                "intent": intent,
                "engine": "local" if "engine" in final.response_metadata else "llm",
                "answered": not reply_flags(final, ctx)["unanswered"],
                "escalated": ctx.escalation is not None,
            },
        }
    ]
    if outcomes.said_it_helped(customer_msg.text):
        events.append(
            {
                "kind": OutcomeKind.RESOLUTION,
                "conversation_id": conversation.id,
                "channel": conversation.channel,
                "detail": {"by": "customer", "how": "said_it_helped"},
            }
        )
    return events


def result_from_row(row: Message, conversation: Conversation, client_id: str | None) -> TurnResult:
    return TurnResult(
        conversation_id=conversation.id,
        message_id=row.id,
        text=row.text,
        owner=conversation.owner,
        created_at=row.created_at,
        client_id=client_id,
        citations=[Citation(**c) for c in row.citations],
    )


def reply_flags(final: AIMessage, ctx: SupportContext) -> dict[str, bool]:
    """How the turn went, for the code triggers of the next turn (engine-independent)."""
    searched = any(c.name == "search_help_center" for c in ctx.tool_calls)
    refused_write = any(
        not c.ok
        and c.name
        in ("start_return", "cancel_order", "change_shipping_address", "check_return_eligibility")
        for c in ctx.tool_calls
    )
    engine = (final.response_metadata or {}).get("engine_flags") or {}
    return {
        "unanswered": searched and not ctx.passages,
        "policy_refusal": refused_write or bool(engine.get("policy_refusal")),
        "misunderstood": bool(engine.get("misunderstood")),
    }


def reply_citations(final: AIMessage, ctx: SupportContext) -> list[Citation]:
    chosen = (final.response_metadata or {}).get("citations")
    # a reply that names the passages it quotes (the offline engine) may cite any the search
    # returned; otherwise every passage above the answer floor is cited
    retrieved = {p.id: p for p in (ctx.offered if chosen is not None else ctx.passages)}
    ids = [i for i in chosen if i in retrieved] if chosen is not None else list(retrieved)
    seen: dict[str, Citation] = {}
    for pid in ids:
        p = retrieved[pid]
        seen.setdefault(pid, Citation(id=p.id, title=p.title, source=p.source))
    return list(seen.values())
