"""Two requests in one message: "Where is my order #1001? Also, what's your return policy?"

The message is cut at sentence ends, at a conjunction that starts a new request ("... and
how long do refunds take", "... and stop sending me emails") and before a closing question after
a comma ("cancel #1555, how long will the refund take?"); each part is read on its own. A part
that is only details (an order number, an email) or only a greeting stays with its neighbour;
`requests` then keeps the split only when the parts ask for different things."""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=\S)")
# a new request after a conjunction: a question word, or the customer saying what they want
_REQUEST_START = (
    r"(?:what|what's|whats|how|when|where|where's|why|which|who|do|does|did|can|could|is|are|"
    r"will|would|should|i'd|i'm|i\s+would|i\s+want|i\s+need|i\s+also|i\s+have|please|tell|"
    r"also)\b"
)
# ... or, after "and", a verb that asks for something of its own ("... and stop sending me emails",
# "... and exchange the boots"); "and get my money back" stays with what it follows
_ACTION_START = (
    r"(?:stop|cancel|delete|remove|unsubscribe|change|update|exchange|swap|return|send|check|"
    r"tell|show|let)\b"
)
_CONJUNCTION = re.compile(
    r"\s*[,;]?\s+(?:and\s+also|and\s+then|and|also|plus|oh\s+and|btw|by\s+the\s+way|"
    r"another\s+thing)[,:]?\s+(?=" + _REQUEST_START + ")"
    r"|\s*,?\s+and\s+(?=" + _ACTION_START + ")",
    re.IGNORECASE,
)
# words that change the subject whatever follows them ("the large is huge btw my other order
# hasnt shipped", "..., one more thing: ...", "..., i also have a 10% code")
_TOPIC_SWITCH = re.compile(
    r"\s*[,;]?\s*\b(?:btw|by\s+the\s+way|one\s+more\s+thing|another\s+thing|oh\s+and|"
    r"oh\s+also)\b[,:]?\s*|,\s+(?=(?:i\s+also|also)\b)",
    re.IGNORECASE,
)
# a question after a comma that ends the message ("cancel #1555, how long will the refund
# take?") ...
_COMMA_QUESTION = re.compile(
    r",\s+(?=(?:how|when|where|what|why|which|can|could|do|does|is|are|will)\b[^,]*\?\s*$)",
    re.IGNORECASE,
)
# ... when the part before it asks for something itself ("I'd like to cancel #1555", "cancel
# it"); "i cancelled an order yesterday, when does the charge disappear?" is one question
_ASKING = re.compile(r"^\W*(?:" + _REQUEST_START + "|" + _ACTION_START + ")", re.IGNORECASE)
_CONDITION = re.compile(r"^\W*(?:if|when|once|after|before|unless|as\s+soon\s+as)\b", re.I)
_ONLY_DETAILS = re.compile(
    r"^[\s,.;:!?-]*(?:(?:order|number|no\.?|email|e-mail|my|is|it's|and|zip|postal|code)\s*|"
    r"#?\s*\d{3,8}\s*|[\w.+-]+@[\w-]+\.[\w.]+\s*|[,.;:!?-]\s*)*$",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening)|dear [\w ]+)\b[\s\w]{0,20}[,.!]*$",
    re.IGNORECASE,
)
_MIN_WORDS = 2


def parts(text: str) -> list[str]:
    """The message cut into candidate requests, in order (one part when nothing to cut)."""
    pieces: list[str] = []
    for sentence in _SENTENCE.split(text.strip()):
        head, *question = _COMMA_QUESTION.split(sentence, maxsplit=1)
        if question and (_CONDITION.match(head) or not _ASKING.match(head)):
            head, question = sentence, []  # a condition or a report before the question
        for clause in [head, *question]:
            for part in _TOPIC_SWITCH.split(clause):
                pieces.extend(p.strip() for p in _CONJUNCTION.split(part) if p.strip())
    merged: list[str] = []
    for piece in pieces:
        if merged and (_ONLY_DETAILS.match(piece) or len(piece.split()) < _MIN_WORDS):
            merged[-1] = f"{merged[-1]} {piece}"
        elif merged and _GREETING.match(merged[-1]):
            merged[-1] = f"{merged[-1]} {piece}" if _ONLY_DETAILS.match(piece) else piece
        else:
            merged.append(piece)
    return merged or [text]
