"""Escalation triggers decided in code before the model runs, so a handoff never depends on
the model noticing (or on parsing its prose). Each is a named check returning a result."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from helpdesk import triage_rules as rules
from storage.tables import Message

_INSIST = re.compile(
    r"\b(but|make an exception|exception|manager|supervisor|insist|you promised|was told|"
    r"said (it was|i could)|not fair|unacceptable|come on|please just)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class GuardrailResult:
    tripped: bool
    reason: str = ""  # an escalate_to_human reason
    summary: str = ""


NOT_TRIPPED = GuardrailResult(False)


def explicit_human_request(text: str) -> GuardrailResult:
    if rules.asks_for_human(text):
        return GuardrailResult(True, "customer_request", "The customer asked for a person.")
    return NOT_TRIPPED


def legal_safety_or_fraud(text: str) -> GuardrailResult:
    if rules.safety_issue(text):
        return GuardrailResult(True, "legal_or_safety", "Possible safety issue reported.")
    if rules.legal_threat(text) or rules.chargeback_threat(text):
        return GuardrailResult(True, "legal_or_safety", "Legal or chargeback threat.")
    if rules.fraud_or_security(text):
        return GuardrailResult(True, "legal_or_safety", "Possible fraud or account security issue.")
    return NOT_TRIPPED


def anger_or_abuse(text: str) -> GuardrailResult:
    if rules.shouting(text) or re.search(rules._ABUSE, text):
        return GuardrailResult(True, "complaint", "The customer is angry or abusive.")
    return NOT_TRIPPED


def _last_assistant_flags(history: Sequence[Message], n: int) -> list[dict[str, object]]:
    flags = []
    for row in reversed(history):
        if row.role == "assistant":
            metadata = (row.payload or {}).get("data", {}).get("response_metadata", {})
            flags.append(metadata.get("engine_flags") or {})
            if len(flags) == n:
                break
    return flags


def repeated_misunderstanding(history: Sequence[Message]) -> GuardrailResult:
    """Two replies in a row where the bot did not understand or could not answer."""
    flags = _last_assistant_flags(history, 2)
    if len(flags) == 2 and all(f.get("misunderstood") or f.get("unanswered") for f in flags):
        reason = "unanswered" if all(f.get("unanswered") for f in flags) else "other"
        return GuardrailResult(True, reason, "The assistant failed to help twice in a row.")
    return NOT_TRIPPED


def insisted_exception(text: str, history: Sequence[Message]) -> GuardrailResult:
    """The customer pushes back right after a policy refusal."""
    flags = _last_assistant_flags(history, 1)
    if flags and flags[0].get("policy_refusal") and _INSIST.search(text):
        return GuardrailResult(
            True, "policy_exception", "The customer insists on an exception to the store policy."
        )
    return NOT_TRIPPED


def check(text: str, before: Sequence[Message]) -> GuardrailResult:
    """`before`: the conversation up to (not including) the customer's current message."""
    for result in (
        explicit_human_request(text),
        legal_safety_or_fraud(text),
        anger_or_abuse(text),
        insisted_exception(text, before),
        repeated_misunderstanding(before),
    ):
        if result.tripped:
            return result
    return NOT_TRIPPED
