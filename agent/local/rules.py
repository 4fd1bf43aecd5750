"""The rule layer of intent reading: a few high-precision patterns that decide before the
classifier does.

Dialogue acts (yes, no) and bare greetings, thanks and goodbyes are matched on the whole message.
Requests for an order action are matched on word stems (`normalize.stems`), so "cancelling",
"canceled" and "cancellation" all meet the pattern for "cancel", while a past tense that reports
what happened ("you cancelled my order", "I returned it weeks ago") is told apart on the words as
written. A request for a person is triage's own rule, so the engine and triage agree on it."""

from __future__ import annotations

import re

from agent.local.normalize import stems
from helpdesk.triage_rules import asks_for_human

_I = re.IGNORECASE

AFFIRM = re.compile(
    r"^\s*(yes|yeah|yep|yup|sure|ok|okay|please|please do|go ahead|do it|y|that would be great|"
    r"yes please|sounds good)\b[\s!.,]*(please|thanks|thank you)?[\s!.]*$",
    _I,
)
DENY = re.compile(r"^\s*(no|nope|nah|no thanks|no thank you|not now|n)\b[\s!.,]*$", _I)
_GREETING = re.compile(
    r"^\s*(hi+|hello+|helo|hey+|heya|hiya|howdy|yo|greetings|good (morning|afternoon|evening|day)|"
    r"morning|evening)( there| team| all)?[\s!.,?]*$",
    _I,
)
_THANKS = re.compile(
    r"^\s*(ok(ay)?,? |great,? |perfect,? |brilliant,? )?(thanks|thank you|thank u|thx|ty|tysm|"
    r"cheers|many thanks|much appreciated)\b( (so|very) much| a lot| again)?[\s!.]*$",
    _I,
)
_GOODBYE = re.compile(
    r"^\s*((ok|okay|thanks|thank you),? )?(bye|goodbye|bye bye|see (you|ya)|cya|that's all|"
    r"that is all)\b[\s!.,]*(bye|for now|thanks)?[\s!.]*$",
    _I,
)
SMALL_TALK = (("greeting", _GREETING), ("thanks", _THANKS), ("goodbye", _GOODBYE))

# a question about how things work, not a request to do them
_QUESTION = re.compile(
    r"^\s*(how|what|what's|whats|do you|does|is there|are there|why|do i (have|need)|is it|"
    r"are (exchanges|returns))\b",
    _I,
)

# --- order actions, on stems -----------------------------------------------------------------

_REFUND_STATUS = re.compile(
    r"\b(where|status|when|haven't (got|receiv)|have not (got|receiv)|still (no|not|wait)|"
    r"didn't get|did not get|not (yet )?receiv)\b.{0,40}\brefund"
    r"|\brefund\b.{0,30}\b(still|yet|status|arriv|come through|gone through)\b",
    _I,
)
_CANCEL = re.compile(
    r"^(pleas |pls |kind |can you |could you |ok |so )?cancel\b"
    r"|\b(want|like|need|wish|tri|go|have|got|get|gonna|wanna|to|pleas|pls|kind|you|i'm|im|am)"
    r"( to)? cancel\b"
    r"|\bcancel (my|the|this|that|it|order|both|everyth|all|one)\b",
    _I,
)
_CANCEL_NOT = re.compile(r"\b(polici|polic|newslett|email|mail list|text|subscript to)\b", _I)
# "you cancelled my order", "it was canceled": a report, not a request; and so is the customer's
# own cancellation told first ("I cancelled order 1178 last week, ...", "cancelled my order on
# Monday, has the refund gone through?")
_CANCEL_PAST = re.compile(
    r"\b(you|they|was|were|been|has|had|got|is|are|it's|which|but)\s+(\w+\s+)?cancell?ed\b"
    r"|^\W*((i|we)\s+)?(already\s+|just\s+)?cancell?ed\b",
    _I,
)
_CANCEL_WANTED = re.compile(r"\b(want|need|like|get|have)\s+(\S+\s+){0,2}cancell?ed\b", _I)
_RETURN = re.compile(
    r"\b(want|like|need|wish|go|tri|gonna|wanna|i'm|im)( to)? (return|send (it|them|\w+) back)\b"
    # "I need to send back a cat tree that doesn't fit"
    r"|\b(want|like|need|wish|gonna|wanna)( to)? send back (the|my|this|these|those|both|an?)\b"
    r"|\breturn (the|my|this|these|those|both|it|them|an?|half|everyth)\b"
    r"|\bstart (a|the|my) return|\bsend (it|them|these|this) back\b|\breturn for order\b"
    r"|\breturn request\b",
    _I,
)
# a request that opens with the verb and names what goes back: "return Merino Base Layer Top,
# order #1895" (not a question: "returns free?" asks about the policy)
_RETURN_FIRST = re.compile(
    r"^(pleas |pls |i )?return (?!polici|polic|window|period|address|label|fee|cost|ship|time|"
    r"rule|process|info|statu|option|free|and |or |\w+ polici)\w",
    _I,
)
# "I returned it weeks ago": the customer reports a return, maybe asks about the refund
_RETURN_PAST = re.compile(
    r"\b(i|we|i've|i have|already|was|were|been|had|has)\s+(already\s+)?"
    r"(returned|sent (it|them|\w+) back)\b|^\W*(already\s+)?returned\b"
    # "the courier returned my parcel to you": a delivery problem, not a return request
    r"|\b(courier|driver|carrier|post office|ups|usps|fedex|dhl|they|it|you)\s+(has\s+)?returned\b",
    _I,
)
_EXCHANGE = re.compile(
    r"\b(want|like|need|wish|can i|could i|to)( to)? (exchang|swap)\b"
    r"|\b(exchang|swap) (the|my|it|them|these|this|for)\b",
    _I,
)
_ADDRESS = re.compile(
    r"\b(chang|updat|wrong|differ|new|correct|edit|fix)\b.{0,30}\b(ship |deliveri )?address\b",
    _I,
)
_ADDRESS_NOT = re.compile(r"\b(email|e-mail|account|profil|default|save)\b", _I)


# "if I opened the box can I still return it", "can I return it without a receipt?": whether, or
# on which conditions, something may be sent back asks about the policy, not for a return. It
# takes a question form and a condition; "I want to return it if possible" asks for the return,
# and an order named makes it that order's eligibility check (the return flow).
_ASKS_IF_ALLOWED = re.compile(
    r"\b(can|could|may|will|would|am|are|is) (i|we|you|it|they|this|that|these|those|one)\b"
    r"|\b(possible|allowed|ok|okay|able) to\b|\bdo you (accept|allow|take)\b|\?\s*$",
    _I,
)
_CONDITION = re.compile(
    r"\b(if|unless|without|even|still|once|after|already|gift|gifted|used|worn|opened|washed|"
    r"tried|sale|clearance|discounted|personali[sz]ed|past|more than|longer than)\b",
    _I,
)
_POLITE_CONDITION = re.compile(r"\bif (possible|you can|that's (ok|okay|fine)|it's (ok|okay))\b",
                               _I)  # fmt: skip
_WANTS = re.compile(r"\b(want|wanna|need|wish|would like|i'd like|like to|please|pls)\b", _I)
# "#1042" or a bare number of three digits or more, but not an amount or a period ("100 days",
# "$150", "250 euros"): "can I still return it after 100 days?" names no order
_ORDER_NUMBER = re.compile(
    r"#\s*\d+"
    r"|(?<![$€£.,\d])\b\d{3,}\b(?![.,]\d)"
    r"(?!\s*%|\s*(percent|days?|weeks?|months?|years?|hours?|minutes?|km|miles?|kg|lbs?|"
    r"dollars?|euros?|pounds?|bucks|usd|eur|gbp|cad|aud)\b)",
    _I,
)


# a line taken off or put on an order ("please remove the Running Tight (S / Charcoal) from my
# order #2097", "can you add a hat to order 1042"): a product's name may read as anything else
_EDIT_LINES = re.compile(
    r"\b(remove|removing|take|taking|drop|dropping|delete|deleting|cancel|cancell?ing)\b"
    r".{1,80}\b(off|out of|from)\s+(my|the|this|that|our)\s+order\b"
    r"|\b(add|adding)\b.{1,80}\bto\s+(my|the|this|that|our)\s+order\b",
    _I,
)


def policy_question(text: str) -> bool:
    """A question whether, or on which conditions, something is allowed, naming no order."""
    return bool(
        _ASKS_IF_ALLOWED.search(text)
        and _CONDITION.search(_POLITE_CONDITION.sub(" ", text))
        and not _WANTS.search(text)
        and not _ORDER_NUMBER.search(text)
    )


def dialogue_act(text: str) -> str | None:
    """'affirm', 'deny', 'greeting', 'thanks' or 'goodbye' for a message that is only that."""
    if _THANKS.match(text):  # "ok thanks" closes politely; it accepts nothing
        return "thanks"
    if AFFIRM.match(text):
        return "affirm"
    if DENY.match(text):
        return "deny"
    for name, pattern in SMALL_TALK:
        if pattern.match(text):
            return name
    return None


def wants_person(text: str, language: str = "en") -> bool:
    return asks_for_human(text, language)


def order_action(text: str) -> str | None:
    """The order action a plain request asks for, or None (questions go to the classifier);
    "return_policy" for a return or exchange asked about under a condition (`policy_question`)."""
    if _QUESTION.match(text):
        return None
    stem = stems(text)
    if _REFUND_STATUS.search(stem):
        return "refund_status"
    if (
        (_CANCEL.search(stem) or _CANCEL_WANTED.search(text))
        and not _CANCEL_NOT.search(stem)
        and (not _CANCEL_PAST.search(text) or _CANCEL_WANTED.search(text))
    ):
        return "cancel_order"
    if _ADDRESS.search(stem) and not _ADDRESS_NOT.search(stem):
        return "order_change"
    if _EDIT_LINES.search(text):
        return "order_change"
    if _EXCHANGE.search(stem):
        return "return_policy" if policy_question(text) else "exchange"
    if (_RETURN.search(stem) or (_RETURN_FIRST.search(stem) and "?" not in text)) and not (
        _RETURN_PAST.search(text)
    ):
        return "return_policy" if policy_question(text) else "return_request"
    return None
