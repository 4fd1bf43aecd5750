"""Escalation triggers decided in code before the model runs, so a handoff never depends on
the model noticing (or on parsing its prose). Each is a named check returning a result.

A prompt-injection attempt is recognised first, after an explicit request for a person: it gets
a short refusal (`refuse=True`) and none of the handoff checks runs on it. Its capitals are not
anger, and the refusal is not the bot failing to help, so it never adds up to a handoff."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.guardrails import GuardrailResult
from agent.injection import injection_reason
from helpdesk import triage_rules as rules
from storage.tables import Message

_INSIST = re.compile(
    r"\b(but|make an exception|exception|manager|supervisor|insist|you promised|was told|"
    r"said (it was|i could)|not fair|unacceptable|come on|please just)\b",
    re.IGNORECASE,
)


__all__ = ["NOT_TRIPPED", "GuardrailResult", "check", "injection_attempt"]

NOT_TRIPPED = GuardrailResult(False)


def explicit_human_request(text: str) -> GuardrailResult:
    if rules.asks_for_human(text):
        return GuardrailResult(True, "customer_request", "The customer asked for a person.")
    return NOT_TRIPPED


def injection_attempt(text: str) -> GuardrailResult:
    """The message tries to re-program the assistant: refused in code, nobody paged."""
    found = injection_reason(text)
    if found is None:
        return NOT_TRIPPED
    return GuardrailResult(True, "injection", f"Prompt injection: {found!r}", refuse=True)


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
    """`before`: the conversation up to (not including) the customer's current message.

    The first tripped result wins; `refuse=True` means answer with a refusal, not a handoff."""
    for result in (
        explicit_human_request(text),
        injection_attempt(text),
        legal_safety_or_fraud(text),
        anger_or_abuse(text),
        insisted_exception(text, before),
        repeated_misunderstanding(before),
    ):
        if result.tripped:
            return result
    return NOT_TRIPPED
