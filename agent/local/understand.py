"""Reading a customer message: its language, the requests in it, and the answer to a clarifying
question. The engine's dialogue (`dialogue.py`) decides what to do with the reading."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.local import rules
from agent.local.intent_model import OUT_OF_SCOPE
from agent.local.intents import DIALOGUE_ACTS, SMALL_TALK, Intent, IntentClassifier
from agent.local.normalize import dictionary_words
from agent.local.split import parts
from helpdesk.triage_language import detect_language

# a part of a message counts as its own request only when read this surely
SPLIT_CONFIDENCE = 0.5
STATEMENT_CONFIDENCE = 0.7
_FIRST = re.compile(r"\b(first|former|1st|option 1|the 1st|1)\b", re.IGNORECASE)
_SECOND = re.compile(r"\b(second|latter|2nd|option 2|the other|2)\b", re.IGNORECASE)
_LETTERS = re.compile(r"[A-Za-z]+")
_QUESTION_PART = re.compile(r"\?\s*$")
_FILLER = frozenset("a an the to your my of it is i do how".split())
# A part of a message is a request of its own when it asks something, says what is wanted or
# is read surely ("I was charged twice", "my discount code didn't work"); a statement read
# weakly beside it ("I sent the parcel back." at 0.55) is context for the request, read with
# the whole message. Chosen on evals/intents/two_requests.txt (dev): 18/20 with the floor at
# 0.7, as without the filter; 11/20 when every statement was context.
_ASKS = re.compile(
    r"\?\s*$|^\W*(also\W+|and\W+|btw\W+|oh\W+)?(what|what's|whats|how|when|where|where's|why|"
    r"which|who|do|does|did|can|could|is|are|will|would|should|please|pls|tell|i'd|i\s+would|"
    r"i\s+want|i\s+need|i\s+wanna|i'd\s+like|let\s+me|help)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reading:
    language: str  # ISO 639-1
    requests: list[Intent]  # in the order the customer wrote them; at least one


def language_of(text: str) -> str:
    """The message's language; English whenever an English rule reads it ("cancel order #2003"
    is two words a statistical detector can take for anything)."""
    language = detect_language(text, default="en")
    if language != "en" and (rules.order_action(text) or rules.dialogue_act(text)):
        return "en"
    return language


def read(text: str, intents: IntentClassifier) -> Reading:
    """The requests of an English message: one, or several when its parts ask for different
    things ("where is my order #1001 and what's your return policy?")."""
    pieces = parts(text)
    if len(pieces) == 1:
        return Reading("en", [intents.classify(text)])
    whole, *each = intents.classify_many([text, *pieces])
    asks = [
        i
        for i in each
        if i.name not in SMALL_TALK | DIALOGUE_ACTS | {OUT_OF_SCOPE}
        and (i.rule or _ASKS.search(i.text) or i.score >= STATEMENT_CONFIDENCE)
    ]
    distinct: list[Intent] = []
    for intent in asks:
        if distinct and distinct[-1].name == intent.name:
            continue  # two sentences about the same thing are one request
        distinct.append(intent)
    sure = all(i.rule or (i.score >= SPLIT_CONFIDENCE and not i.ambiguous) for i in distinct)
    if len(distinct) >= 2 and sure:
        return Reading("en", distinct)
    if len(asks) == 1 and asks[0].name != whole.name and _QUESTION_PART.search(asks[0].text):
        # one question beside context ("I bought boots last month. how long does a refund
        # take?"): the question says what is wanted, the context only colours the whole
        return Reading("en", [asks[0]])
    return Reading("en", [whole])


def gibberish(text: str, intents: IntentClassifier) -> bool:
    """No word of the message is English or a typo of a store word ("blorp", "zzzz qqqq"): the
    reply is that we did not understand, which counts toward handing over after two."""
    words = _LETTERS.findall(text)
    if not words or any(c.isdigit() for c in text):
        return False
    known = dictionary_words()
    if any(w.lower() in known for w in words):
        return False
    return intents.clean(text) == " ".join(text.split())


def choose(text: str, options: list[str], intents: IntentClassifier) -> str | None:
    """Which of the two `options` of a clarifying question the reply picks, or None when it
    picks neither (a new request)."""
    first, second = bool(_FIRST.search(text)), bool(_SECOND.search(text))
    if first != second:
        return options[0] if first else options[1]
    reading = intents.classify(text)
    if reading.name in options:
        return reading.name
    if reading.rule:
        return None
    said = reading.text or text
    probabilities, labels = intents.probabilities(intents.vectors([said]), [said])
    words = set(re.findall(r"[a-z]+", text.lower())) - _FILLER
    scores = []
    for name in options:
        described = set(re.findall(r"[a-z]+", intents.descriptions.get(name, "").lower()))
        overlap = len(words & (described - _FILLER))
        scores.append(float(probabilities[0][labels.index(name)]) + 0.2 * overlap)
    if max(scores) < 0.1 or abs(scores[0] - scores[1]) < 0.05:
        return None
    return options[0] if scores[0] > scores[1] else options[1]
