"""Two requests in one message: "Where is my order #1001? Also, what's your return policy?"

The message is cut at sentence ends, at a conjunction that starts a new request ("... and
how long do refunds take", "... and stop sending me emails") and before a closing question after
a comma ("cancel #1555, how long will the refund take?"); each part is read on its own. A part
that is only details (an order number, an email) or only a greeting stays with its neighbour;
`requests` then keeps the split only when the parts ask for different things."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# Run-on messages ("order 1198 tracking hasnt updated in 5 days can i talk to someone", "code
# WELCOME10 isnt working + how much is express shipping") have no boundary the rules above
# trust. Their candidate cuts: after a joining word or sign, or before words that open a
# request. `understand.read` keeps a cut only when the intent model reads both sides surely as
# two different requests, which the rules cannot tell.
_JOIN = r"and|also|plus|then|\+|&|-|–|—"  # words and signs that join two things explicitly
# a cut after one of them, or after "but", a comma, a semicolon or a closing bracket
_JOINER = re.compile(rf"^(?:{_JOIN}|but)$|[,;)]$", re.IGNORECASE)
# a cut joined explicitly (a comma or "but" may join a reason to its request)
_JOINING_WORD = re.compile(rf"^(?:{_JOIN})$", re.IGNORECASE)
# what a side loses at the cut
_LEADING_JOINERS = re.compile(
    rf"^(?:\s*(?:{_JOIN}|but|so|,|;|separate\s+thing[,:]?)\s+)+", re.IGNORECASE
)
_TRAILING_JOINERS = re.compile(rf"(?:\s+(?:{_JOIN}|but|so))+\s*$", re.IGNORECASE)
_BECAUSE = re.compile(r"^(?:so|because|cause|cos|therefore|hence)$", re.IGNORECASE)
OPENS_REQUEST = re.compile(
    r"^(?:(?:can|could|may)\s+(?:i|you|we)|i\s+(?:just\s+)?(?:want|need|wanna|would|'d)|"
    r"i'd|where(?:'s|s)?|when|whats|what(?:'s)?|how|do\s+you|does|is\s+there|are\s+there|"
    r"please|pls|cancel|unsubscribe|delete|swap|exchange|get\s+me|let\s+me|"
    r"separate(?:ly)?|also|plus|then|use|just\s+cancel|and)\b",
    re.IGNORECASE,
)
_TRIM = " ,;:+&-–—"
# a first side that ends where its sentence cannot ("... can i", "... i just want to see")
_DANGLING = re.compile(
    r"\b(?:i|you|we|to|the|a|an|my|your|our|can|could|would|will|do|does|see|know|of|for|"
    r"with|is|are|was|that|if|what|how|honestly|just|really|about|on|in|at)$",
    re.IGNORECASE,
)
MAX_CUTS = 2
_MIN_SIDE_WORDS = 3
_OPENER_WORDS = 3  # the longest opener ("i just want") is three words


@dataclass(frozen=True)
class Cut:
    before: str
    after: str
    joined: bool  # after "and", "also", "+", ...: not only before a request's first words


def run_on_cuts(text: str) -> list[Cut]:
    """Where a one-part message might hold two requests, the most balanced first, at most
    MAX_CUTS."""
    words = text.split()
    cuts: list[tuple[int, Cut]] = []
    for i in range(_MIN_SIDE_WORDS, len(words) - _MIN_SIDE_WORDS + 1):
        opens = " ".join(words[i : i + _OPENER_WORDS])
        if not (_JOINER.search(words[i - 1]) or OPENS_REQUEST.match(opens)):
            continue
        if _BECAUSE.match(words[i - 1]):  # what went before is the reason for what follows
            continue
        rest = " ".join(words[i:])
        left = _TRAILING_JOINERS.sub("", " ".join(words[:i])).strip(_TRIM)
        right = _strip_joiners(rest)
        if any((c.before, c.after) == (left, right) for _, c in cuts):
            continue
        if len(left.split()) < _MIN_SIDE_WORDS or len(right.split()) < _MIN_SIDE_WORDS:
            continue
        if _ONLY_DETAILS.match(right) or _CONDITION.match(right) or _DANGLING.search(left):
            continue
        joined = bool(_JOINING_WORD.match(words[i - 1]) or _JOINING_WORD.match(words[i]))
        cuts.append((abs(len(left) - len(right)), Cut(left, right, joined)))
    cuts.sort(key=lambda c: c[0])
    return [cut for _, cut in cuts[:MAX_CUTS]]


def _strip_joiners(text: str) -> str:
    return _LEADING_JOINERS.sub("", text).strip(_TRIM)
