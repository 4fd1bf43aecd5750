"""Help content is data, never instructions: strip invisible text, flag instruction-like text.

Ingested documents come from a merchant's site or export, which anyone who can edit a page can
poison. Characters a reader cannot see are removed at ingest (HTML hidden elements are dropped by
the HTML loader), and chunks that address the agent ("ignore previous instructions", "call the
refund tool") are stored with `flagged=True`: counted in `kb stats`, never returned as answers.
"""

from __future__ import annotations

import re
import unicodedata

# Zero-width and other format characters used to hide text or split trigger words.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)

_INSTRUCTION_PATTERNS = [
    r"\b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|"
    r"your|the)\b[^.\n]{0,20}\b(instructions?|prompts?|rules|guidelines|directions)\b",
    r"\b(system|developer)\s+(prompt|message|instructions?)\b",
    r"\bnew\s+instructions?\s*:",
    r"\byou\s+are\s+now\s+(a|an|the|in)\b",
    r"\b(call|invoke|use|run|trigger|execute)\s+(the\s+)?[\w-]*\s*(refund|cancel\w*|"
    r"discount|credit|order|return|escalat\w*)[\w-]*\s+(tool|function|action|api)\b",
    r"\b(assistant|ai|agent|chatbot|bot|model)s?\b[^.\n]{0,30}\b(must|should|shall|will)\s+"
    r"(always|now|immediately)\b",
    r"\b(issue|grant|approve|give)\s+(a\s+|an\s+)?(full\s+)?(refund|store credit|discount)\s+"
    r"(to|for)\s+(anyone|everyone|any customer|all customers|whoever)\b",
    r"\breveal\b[^.\n]{0,30}\b(prompt|instructions|secrets?|api keys?|passwords?)\b",
    r"(^|\n)\s*(system|assistant)\s*:",
    r"<\|?(im_start|im_end|system|endoftext)\|?>",
]
_INSTRUCTIONS = re.compile("|".join(f"(?:{p})" for p in _INSTRUCTION_PATTERNS), re.IGNORECASE)


def strip_invisible(text: str) -> str:
    """Remove zero-width and bidi-control characters, and normalise to NFC."""
    return unicodedata.normalize("NFC", _INVISIBLE.sub("", text))


def looks_like_instructions(text: str) -> bool:
    """Whether `text` addresses the agent rather than the customer."""
    return _INSTRUCTIONS.search(strip_invisible(text)) is not None
