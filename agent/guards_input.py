"""Guardrails on the customer's message before the model runs (the LLM path). Named functions
returning a GuardrailResult (STYLE.md #10); the runner's code triggers (agent/triggers.py) have
already handed over abuse and refused instruction overrides, and the two wrappers below give
those the same named form so the model path can be checked as one list.

A tripped input guard means: answer with `text` (agent/prompts/safe_replies.yaml), no model call.
Off-topic: the understanding layer's out-of-scope decision (agent/local/intents.py: a class
trained on general-assistant requests) reads the message as the offline engine does, so both
engines decline the same requests. A false positive refuses a customer, so only a sure reading
counts: out-of-scope as the classifier's best class (not merely a weak reading under its floor),
of a message of a few words that names nothing of the store (no store word, order number or
email). A short list of general-assistant tasks is also caught without the classifier.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import yaml

from agent import triggers
from agent.guardrails import GuardrailResult
from agent.injection import injection_reason
from agent.local.intent_model import OUT_OF_SCOPE

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
    r"cancel\w*|address|discount|coupon|warranty|stock|"
    # questions to the store about itself ("what are your opening hours?"), which the intent
    # classifier can read as out of scope
    r"your|hours|open|opening|contact|phone|located|location)\b|#\d{3,}|@",
    re.IGNORECASE,
)
OFF_TOPIC_SURE = 0.5  # the out-of-scope class's probability, when it is the best class
OFF_TOPIC_WORDS = 3  # shorter messages are answers to the assistant's questions, read in context


@cache
def safe_replies() -> dict[str, str]:
    raw = resources.files("agent").joinpath("prompts", "safe_replies.yaml").read_text("utf-8")
    return {str(k): str(v) for k, v in yaml.safe_load(raw).items()}


def sure_out_of_scope(reading: Any) -> bool:
    """An intent reading (agent/local/intents.Intent) that is out of scope by the classifier's
    own class, surely; not one that only fell under the floor for lack of a better match."""
    return (
        reading is not None
        and reading.name == OUT_OF_SCOPE
        and reading.runner_up == OUT_OF_SCOPE  # the best class was out_of_scope itself
        and reading.score >= OFF_TOPIC_SURE
    )


def check_off_topic(text: str, *, reading: Any = None) -> GuardrailResult:
    """A request unrelated to the store. `reading`: the understanding layer's intent of `text`
    (IntentClassifier.classify), when the model path has the classifier."""
    if _STORE_WORDS.search(text):
        return NOT_TRIPPED
    general = bool(_GENERAL_TASK.search(text))
    if general or (len(text.split()) >= OFF_TOPIC_WORDS and sure_out_of_scope(reading)):
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


def check_input(text: str, *, reading: Any = None) -> GuardrailResult:
    """The guards the model path adds before a model call; the first tripped result wins.
    `reading`: the intent classifier's reading of `text` (see check_off_topic)."""
    for result in (check_oversize_paste(text), check_off_topic(text, reading=reading)):
        if result.tripped:
            return result
    return NOT_TRIPPED
