"""The customer's answer to a proposed action, read in code: a write runs only on an explicit
yes from the customer, never because the model decided so."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml

from storage.tables import ActionStatus, PendingAction
from tools import actions
from tools.context import ToolDeps

# A yes is a message made only of these phrases (longest first), in any order, joined by
# spaces, commas or "and": "Yes, please go ahead.", "sounds good, do it", "ok yes". Anything
# else in the message ("yes but change the size", "yes?") makes it not a yes: the rule is a
# closed list, so a new way of saying yes is added here, never guessed.
_AFFIRM = {
    "yes",
    "yeah",
    "yea",
    "yep",
    "yup",
    "y",
    "sure",
    "ok",
    "okay",
    "alright",
    "all right",
    "confirm",
    "confirmed",
    "i confirm",
    "correct",
    "go ahead",
    "go for it",
    "do it",
    "please do",
    "proceed",
    "please proceed",
    "sounds good",
    "sounds great",
    "sounds right",
    "that's right",
    "thats right",
    "that is right",
    "that's correct",
    "thats correct",
    "that is correct",
    "that's fine",
    "that is fine",
    "that works",
    "looks good",
    "looks right",
    "absolutely",
    "definitely",
    "of course",
    "perfect",
    "great",
    "fine",
    "let's do it",
    "lets do it",
    "let's do that",
    "do that",
    "yes please",
    "please go ahead",
    "you can go ahead",
    "go ahead please",
    "yes do it",
}
_POLITE = {"please", "thanks", "thank you", "thx", "cheers", "and"}
_PHRASES = sorted(
    ((tuple(p.split()), p in _AFFIRM) for p in _AFFIRM | _POLITE), key=lambda x: -len(x[0])
)
_NO = re.compile(
    r"^\s*(no|nope|nah|n|cancel|stop|don'?t|do not|never ?mind|no,? thanks?( you)?|not now)"
    r"\b.{0,40}$",
    re.IGNORECASE,
)
# "no, go ahead and cancel it" says no and yes at once: neither, so the turn reads it afresh
_MIXED = re.compile(r"\b(go ahead|proceed|yes|confirm|please do)\b", re.IGNORECASE)


def _is_yes(text: str) -> bool:
    lowered = text.lower().replace("\u2019", "'").strip()
    if not lowered or "?" in lowered:
        return False
    words = re.sub(r"[\s,.!]+", " ", lowered).split()
    if len(words) > 8 or any(not re.fullmatch(r"[a-z']+", w) for w in words):
        return False
    affirmed, i = False, 0
    while i < len(words):
        for phrase, affirms in _PHRASES:
            if tuple(words[i : i + len(phrase)]) == phrase:
                affirmed, i = affirmed or affirms, i + len(phrase)
                break
        else:
            return False
    return affirmed and words[0] != "and" and words[-1] != "and"


def classify_answer(text: str) -> str:
    """'yes', 'no', or 'other' (a change of subject, a question, or a yes with conditions)."""
    if _is_yes(text):
        return "yes"
    if _NO.match(text):
        return "other" if _MIXED.search(text) else "no"
    return "other"


@cache
def _templates() -> dict[str, str]:
    raw = resources.files("agent").joinpath("gate_replies.yaml").read_text("utf-8")
    return {str(k): str(v) for k, v in yaml.safe_load(raw).items()}


def say(key: str, **values: Any) -> str:
    return _templates()[key].format(**values)


def outcome_text(action: PendingAction) -> str:
    result = action.result or {}
    if action.status == ActionStatus.EXECUTED:
        if action.kind == "return":
            return say(
                "executed_return",
                rma=result.get("rma", ""),
                instructions=result.get("instructions", ""),
            )
        if action.kind == "cancel":
            return say("executed_cancel", order_number=action.order_number)
        if action.kind == "order_edit":
            items = ", ".join(
                f"{i['quantity']} × {i['variant']} ({i['sku']})" for i in result.get("items", [])
            )
            amount = abs(Decimal(result.get("difference", "0")))
            money = {
                "refund": f"${amount:.2f} is refunded to your original payment method.",
                "charge": f"The extra ${amount:.2f} is charged to your original payment method.",
            }.get(result.get("money", ""), "")
            return say(
                "executed_order_edit",
                order_number=action.order_number,
                items=items,
                total=f"${result.get('total', '')}",
                money=money,
            ).strip()
        if action.kind == "default_address":
            return say("executed_default_address", address=result.get("address", ""))
        return say(
            "executed_address_change",
            order_number=action.order_number,
            address=result.get("address", ""),
        )
    if action.status == ActionStatus.AWAITING_APPROVAL:
        return say("awaiting_approval", why=action.approval_reason or "store policy")
    if action.status == ActionStatus.EXPIRED:
        return say("expired")
    if action.status == ActionStatus.FAILED:
        return say("failed", error=action.error or "the store refused.")
    if action.status == ActionStatus.EXECUTING:
        return say("busy")
    return say("declined")


@dataclass(frozen=True)
class GateReply:
    text: str
    action: PendingAction


async def answer_pending(
    deps: ToolDeps,
    *,
    pending: PendingAction | None,
    text: str,
    message_id: str,
    customer_id: str | None,
) -> GateReply | None:
    """If an action awaits this conversation's confirmation (`pending`, read in the turn's first
    transaction), settle it from the customer's message. Returns the reply for yes/no; None when
    there is nothing to settle or the customer changed the subject (the action is then declined
    and the turn runs as usual)."""
    if pending is None:
        # a retried "yes" whose first turn died mid-execution: finish it (idempotent on the
        # action's key) and answer with the outcome, as the first turn would have
        unfinished = await actions.confirmed_by(deps, message_id)
        if unfinished is None or unfinished.customer_id != customer_id:
            return None
        settled = await actions.execute(deps, unfinished.id)
        return GateReply(outcome_text(settled), settled)
    if pending.customer_id != customer_id:
        return None
    answer = classify_answer(text)
    if answer == "yes":
        settled = await actions.confirm(deps, pending, message_id=message_id)
        return GateReply(outcome_text(settled), settled)
    await actions.decline(
        deps, pending.id, by=f"customer:{pending.customer_id}", status=ActionStatus.DECLINED
    )
    if answer == "no":
        return GateReply(say("declined"), await actions.reload(deps, pending.id))
    return None
