"""Guardrails on the customer's message before the model runs (the LLM path). Named functions
returning a GuardrailResult (STYLE.md #10); the runner's code triggers (agent/triggers.py) have
already handed over abuse and refused instruction overrides, and the two wrappers below give
those the same named form so the model path can be checked as one list.

A tripped input guard means: answer with `text` (agent/prompts/safe_replies.yaml), no model call.
Off-topic detection is deliberately narrow (a task for a general assistant and no word about the
store), since a false positive refuses a customer.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml

from agent import triggers
from agent.guardrails import GuardrailResult
from agent.injection import injection_reason

NOT_TRIPPED = GuardrailResult(False)
PASTE_CHARS = 2500
PASTE_LINES = 40

_GENERAL_TASK = re.compile(
    r"\b(write|compose|generate|draft)\s+(me\s+)?(a|an|some)\s+(\w+\s+)?"
    r"(poem|story|essay|song|haiku|limerick|code|script|program|function|cover letter|speech)\b"
    r"|\b(solve|do)\s+(my|this)\s+(homework|equation|math|assignment)\b"
    r"|\btell\s+me\s+a\s+joke\b|\brecipe\s+for\b|\bwho\s+won\s+the\b"
    r"|\bwhat\s+is\s+the\s+capital\s+of\b|\b(python|javascript|sql)\s+(code|script|query)\b",
    re.IGNORECASE,
)
_STORE_WORDS = re.compile(
    r"\b(order|orders|return|refund|exchange|ship|shipping|shipped|deliver\w*|package|parcel|"
    r"tracking|size|sizes|product|item|items|store|shop|account|payment|paid|charge[ds]?|"
    r"cancel\w*|address|discount|coupon|warranty|stock)\b|#\d{3,}",
    re.IGNORECASE,
)


@cache
def safe_replies() -> dict[str, str]:
    raw = resources.files("agent").joinpath("prompts", "safe_replies.yaml").read_text("utf-8")
    return {str(k): str(v) for k, v in yaml.safe_load(raw).items()}


def check_off_topic(text: str) -> GuardrailResult:
    if _GENERAL_TASK.search(text) and not _STORE_WORDS.search(text):
        return GuardrailResult(
            True,
            reason="off_topic",
            summary="A request unrelated to the store.",
            text=safe_replies()["off_topic"],
        )
    return NOT_TRIPPED


def check_oversize_paste(text: str) -> GuardrailResult:
    """A long paste (a log, a document, a whole email thread) costs tokens and hides
    instructions; the customer is asked for the gist instead."""
    if len(text) > PASTE_CHARS or text.count("\n") >= PASTE_LINES:
        return GuardrailResult(
            True,
            reason="oversize_paste",
            summary=f"A pasted message of {len(text)} characters.",
            text=safe_replies()["oversize_paste"],
        )
    return NOT_TRIPPED


def check_abuse(text: str) -> GuardrailResult:
    """Abuse or shouting: handed to a person (the runner does this before any engine)."""
    return triggers.anger_or_abuse(text)


def check_instruction_override(text: str) -> GuardrailResult:
    """An attempt to re-program the assistant: refused (the runner does this before any engine)."""
    reason = injection_reason(text)
    if reason:
        return GuardrailResult(True, reason="instruction_override", summary=reason, refuse=True)
    return NOT_TRIPPED


def check_input(text: str) -> GuardrailResult:
    """The guards the model path adds before a model call; the first tripped result wins."""
    for result in (check_oversize_paste(text), check_off_topic(text)):
        if result.tripped:
            return result
    return NOT_TRIPPED
