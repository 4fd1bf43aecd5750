"""Guardrails on what the model says, before the customer sees it (the LLM path). Each check
is a named function over plain data returning a GuardrailResult, unit-tested without a model;
`reply_facts` gathers that data for a turn from the store and the database.

- `check_foreign_order_data`: order details of an order that is not the verified customer's
  (tools refuse such lookups; this catches a model that read them from history or made them up);
- `check_unbacked_claim`: "your refund is done", "I've cancelled your order" with no executed
  action of that kind in this conversation. A proposal awaiting the customer's yes backs only
  "shall I...?" wording, which these patterns (past or present perfect) never match;
- `check_prompt_echo`: the system prompt or the tool definitions repeated to the customer.
Links outside the allowed domains are removed by agent/guardrails.py for every engine.
A tripped check replaces the whole reply with a fixed safe one (agent/prompts/safe_replies.yaml).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from langchain_core.tools import BaseTool
from sqlalchemy import select

from agent.guardrails import GuardrailResult
from agent.guards_input import safe_replies
from storage.tables import ActionStatus, PendingAction
from tools.context import SupportContext

NOT_TRIPPED = GuardrailResult(False)
ORDER_NUMBER = re.compile(r"#\d{3,}")
# words that make a mention of an order number into order data
_ORDER_DATA = re.compile(
    r"\b(shipped|delivered|in transit|out for delivery|tracking|track|carrier|ups|usps|fedex|dhl|"
    r"total|paid|refunded|cancell?ed|status|arriv\w+|items?|address|placed|contains?)\b|[$€£]\s?\d",
    re.IGNORECASE,
)
_DONE = r"(has|have|'s|'ve|was|were|is|are)\s+(now\s+)?(been\s+)?"
_CLAIMS: dict[str, re.Pattern[str]] = {
    "return": re.compile(
        r"\b(refund|return|rma|money)\b[^.?!]{0,40}?\b"
        + _DONE
        + r"(issued|processed|sent|completed|done|approved|created|opened|started|initiated|"
        r"booked|on (its|the) way|refunded)\b"
        r"|\bi\s*('ve|\s+have)\s+(now\s+)?(issued|processed|refunded|started|opened|created|"
        r"initiated|booked)\b[^.?!]{0,30}\b(refund|return)"
        r"|\b(refund|return)\s+(is\s+)?(done|complete|completed)\b",
        re.IGNORECASE,
    ),
    "cancel": re.compile(
        r"\b(order|it|cancellation)\b[^.?!]{0,40}?\b" + _DONE + r"(cancell?ed|processed|done)\b"
        r"|\bi\s*('ve|\s+have)\s+(now\s+)?cancell?ed\b",
        re.IGNORECASE,
    ),
    "address_change": re.compile(
        r"\baddress\b[^.?!]{0,40}?\b" + _DONE + r"(updated|changed|corrected)\b"
        r"|\bi\s*('ve|\s+have)\s+(now\s+)?(updated|changed)\b[^.?!]{0,30}\baddress\b",
        re.IGNORECASE,
    ),
}
ECHO_WORDS = 8  # this many words in a row from the system prompt make an echo


@dataclass
class ReplyFacts:
    """What the output guards compare a reply with."""

    verified_customer: str | None = None
    order_owners: dict[str, str | None] = field(default_factory=dict)  # number -> customer id
    executed_kinds: set[str] = field(default_factory=set)
    system_prompt: str = ""
    tool_names: set[str] = field(default_factory=set)


def _result(reason: str, summary: str) -> GuardrailResult:
    return GuardrailResult(True, reason=reason, summary=summary, text=safe_replies()[reason])


def check_foreign_order_data(
    text: str, *, verified_customer: str | None, order_owners: dict[str, str | None]
) -> GuardrailResult:
    """Order data next to an order number that is not the verified customer's. Naming a
    number alone ("once you verify #1003...") is fine; details with it are not."""
    foreign = sorted(
        n
        for n in set(ORDER_NUMBER.findall(text))
        if verified_customer is None or order_owners.get(n) != verified_customer
    )
    if foreign and _ORDER_DATA.search(text):
        return _result("foreign_order_data", f"order data of {', '.join(foreign)}")
    return NOT_TRIPPED


def check_unbacked_claim(text: str, *, executed_kinds: Iterable[str]) -> GuardrailResult:
    done = set(executed_kinds)
    for kind, pattern in _CLAIMS.items():
        if kind not in done and (m := pattern.search(text)):
            return _result("unbacked_claim", f"claims a {kind} is done: {m.group(0)!r}")
    return NOT_TRIPPED


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9_]+", text.lower())


def check_prompt_echo(
    text: str, *, system_prompt: str, tool_names: Iterable[str] = ()
) -> GuardrailResult:
    """ECHO_WORDS words in a row from the system prompt, or a tool definition (a JSON schema,
    or three tool names) in the reply."""
    words = _words(system_prompt)
    shingles = {tuple(words[i : i + ECHO_WORDS]) for i in range(len(words) - ECHO_WORDS + 1)}
    reply = _words(text)
    for i in range(len(reply) - ECHO_WORDS + 1):
        if tuple(reply[i : i + ECHO_WORDS]) in shingles:
            return _result("prompt_echo", "repeats the system prompt")
    named = {name for name in tool_names if name in text}
    schema = re.search(r'"(parameters|properties|required)"\s*:', text)
    if len(named) >= 3 or (named and schema):
        return _result("prompt_echo", f"repeats tool definitions ({', '.join(sorted(named))})")
    return NOT_TRIPPED


def check_reply(text: str, facts: ReplyFacts) -> GuardrailResult:
    """The output guards in order; the first tripped result wins."""
    for result in (
        check_prompt_echo(text, system_prompt=facts.system_prompt, tool_names=facts.tool_names),
        check_foreign_order_data(
            text, verified_customer=facts.verified_customer, order_owners=facts.order_owners
        ),
        check_unbacked_claim(text, executed_kinds=facts.executed_kinds),
    ):
        if result.tripped:
            return result
    return NOT_TRIPPED


async def reply_facts(
    text: str, ctx: SupportContext, *, system_prompt: str, tools: Sequence[BaseTool]
) -> ReplyFacts:
    """The facts for `text`: owners of the order numbers it names (from the store), the kinds
    of action executed in this conversation (from the database)."""
    owners: dict[str, str | None] = {}
    for number in set(ORDER_NUMBER.findall(text)):
        order = await ctx.deps.store.find_order(number)
        owners[number] = order.customer_id if order is not None else None
    async with ctx.deps.sessions() as session:
        kinds = set(
            (
                await session.scalars(
                    select(PendingAction.kind).where(
                        PendingAction.conversation_id == ctx.conversation_id,
                        PendingAction.status == ActionStatus.EXECUTED,
                    )
                )
            ).all()
        )
    return ReplyFacts(
        verified_customer=ctx.customer_id,
        order_owners=owners,
        executed_kinds=kinds,
        system_prompt=system_prompt,
        tool_names={t.name for t in tools},
    )


def tool_definitions(tools: Sequence[BaseTool]) -> str:
    """The tools as the model sees them, for the echo check's shingles."""
    return json.dumps([{"name": t.name, "description": t.description} for t in tools])
