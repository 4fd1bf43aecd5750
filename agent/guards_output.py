"""Guardrails on what the model says, before the customer sees it (the LLM path). Each check
is a named function over plain data returning a GuardrailResult, unit-tested without a model;
`reply_facts` gathers that data for a turn from the store and the database.

- `check_foreign_order_data`: order details of an order that is not the verified customer's
  (tools refuse such lookups; this catches a model that read them from history or made them up).
  Order numbers are read in the store's own formats (commerce/models.py: "#1043", "NW-104233",
  "1043-A"), as the store writes them;
- `check_foreign_personal_data`: another customer's email address (the store knows it as theirs),
  or a tracking number or street address that is neither the verified customer's (their orders
  and profile) nor something the customer wrote or a help-center passage gave;
- `check_unbacked_claim`: "your refund is done", "I've cancelled your order" with no executed
  action of that kind in this conversation. A proposal awaiting the customer's yes backs only
  "shall I...?" wording, which these patterns (past or present perfect) never match;
- `check_prompt_echo`: the system prompt or the tool definitions repeated to the customer.
Links outside the allowed domains are removed by agent/guardrails.py for every engine.
A tripped check replaces the whole reply with a fixed safe one (agent/prompts/safe_replies.yaml).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from langchain_core.tools import BaseTool
from sqlalchemy import select

from agent.guardrails import GuardrailResult, addresses_in
from agent.guards_input import safe_replies
from agent.local.entities import find_address
from commerce.models import (
    DEFAULT_ORDER_NUMBER_FORMATS,
    Address,
    OrderNumberFormat,
    normalize_order_number,
)
from storage.tables import ActionStatus, PendingAction
from tools.context import SupportContext

NOT_TRIPPED = GuardrailResult(False)
# a word that may be an order number in some store's format ("#1043", "NW-104233", "SO12345",
# "1043-A", "order 1043"); the store's formats decide which ones are
_ORDER_CANDIDATE = re.compile(
    r"(?<![\w@./-])(#\s?[A-Za-z]{0,4}[-_/.]?\d{3,12}(?:-[A-Za-z0-9]{1,3})?"
    r"|[A-Za-z]{1,4}[-_/. ]?\d{3,12}(?:-[A-Za-z0-9]{1,3})?"
    r"|\d{3,12}-[A-Za-z0-9]{1,3})(?![\w@-])"
)
_ORDER_WORD_NUMBER = re.compile(
    r"\border\s*(?:number|no\.?|nr\.?|num)?\s*:?\s*(\d{3,12})\b", re.IGNORECASE
)
# carriers' tracking numbers: 10-34 capitals and digits with at least 8 digits (UPS 1Z..., USPS,
# FedEx, DHL); only looked at where the reply talks about shipping
_TRACKING = re.compile(r"(?<![\w#-])(?=(?:[A-Z]*\d){8})[A-Z0-9]{10,34}(?![\w-])")
_SHIPPING_WORDS = re.compile(
    r"\b(tracking|track|carrier|shipment|shipped|parcel|package|label|ups|usps|fedex|dhl|"
    r"delivery|deliver\w*)\b",
    re.IGNORECASE,
)
# words that make a mention of an order number into order data
_ORDER_DATA = re.compile(
    r"\b(shipped|delivered|in transit|out for delivery|tracking|track|carrier|ups|usps|fedex|dhl|"
    r"total|paid|refunded|cancell?ed|status|arriv\w+|items?|address|placed|contains?)\b|[$€£]\s?\d",
    re.IGNORECASE,
)
_DONE = r"(has|have|'s|'ve|was|were|is|are)\s+(now\s+)?(been\s+)?"
_CLAIMS: dict[str, re.Pattern[str]] = {
    "return": re.compile(
        r"\b(refund|return|rma|money)\b[^.?!]{0,40}?\b"
        + _DONE
        + r"(issued|processed|sent|completed|done|approved|created|opened|started|initiated|"
        r"booked|on (its|the) way|refunded)\b"
        r"|\bi\s*('ve|\s+have)\s+(now\s+)?(issued|processed|refunded|started|opened|created|"
        r"initiated|booked)\b[^.?!]{0,30}\b(refund|return)"
        r"|\b(refund|return)\s+(is\s+)?(done|complete|completed)\b",
        re.IGNORECASE,
    ),
    "cancel": re.compile(
        r"\b(order|it|cancellation)\b[^.?!]{0,40}?\b" + _DONE + r"(cancell?ed|processed|done)\b"
        r"|\bi\s*('ve|\s+have)\s+(now\s+)?cancell?ed\b",
        re.IGNORECASE,
    ),
    "address_change": re.compile(
        r"\baddress\b[^.?!]{0,40}?\b" + _DONE + r"(updated|changed|corrected)\b"
        r"|\bi\s*('ve|\s+have)\s+(now\s+)?(updated|changed)\b[^.?!]{0,30}\baddress\b",
        re.IGNORECASE,
    ),
}
ECHO_WORDS = 8  # this many words in a row from the system prompt make an echo


@dataclass
class ReplyFacts:
    """What the output guards compare a reply with."""

    verified_customer: str | None = None
    order_owners: dict[str, str | None] = field(default_factory=dict)  # number -> customer id
    executed_kinds: set[str] = field(default_factory=set)
    system_prompt: str = ""
    tool_names: set[str] = field(default_factory=set)
    formats: Sequence[OrderNumberFormat] = DEFAULT_ORDER_NUMBER_FORMATS
    foreign_emails: set[str] = field(default_factory=set)  # in the reply, another customer's
    own: OwnData | None = None  # the verified customer's tracking numbers and addresses
    told: str = ""  # what the customer wrote and the help center gave: anyone may see it


@dataclass
class OwnData:
    """The verified customer's personal data, from their orders and profile."""

    tracking_numbers: set[str] = field(default_factory=set)
    streets: set[tuple[str, str]] = field(default_factory=set)  # (house number, street word)


def order_numbers_in(
    text: str, formats: Sequence[OrderNumberFormat] = DEFAULT_ORDER_NUMBER_FORMATS
) -> dict[str, str]:
    """{number as the store writes it: as the text writes it} for each order number in `text`
    that fits one of the store's `formats` ("Order NW 104233" -> NW-104233)."""
    found: dict[str, str] = {}
    candidates = [m.group(1) for m in _ORDER_CANDIDATE.finditer(text)]
    candidates += [m.group(1) for m in _ORDER_WORD_NUMBER.finditer(text)]
    for raw in candidates:
        number = normalize_order_number(raw, formats)
        if number is not None:
            found.setdefault(number, raw)
    return found


def _result(reason: str, summary: str) -> GuardrailResult:
    return GuardrailResult(True, reason=reason, summary=summary, text=safe_replies()[reason])


def check_foreign_order_data(
    text: str,
    *,
    verified_customer: str | None,
    order_owners: dict[str, str | None],
    formats: Sequence[OrderNumberFormat] = DEFAULT_ORDER_NUMBER_FORMATS,
) -> GuardrailResult:
    """Order data next to an order number that is not the verified customer's. Naming a
    number alone ("once you verify #1003...") is fine; details with it are not. `order_owners`
    is keyed by the number as the store writes it."""
    foreign = sorted(
        n
        for n in order_numbers_in(text, formats)
        if verified_customer is None or order_owners.get(n) != verified_customer
    )
    if foreign and _ORDER_DATA.search(text):
        return _result("foreign_order_data", f"order data of {', '.join(foreign)}")
    return NOT_TRIPPED


def _compact(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def _street_key(text: str) -> tuple[str, str] | None:
    """(house number, first word of the street name) of an address line: '12 Oak Street' and
    '12 oak st.' are the same street."""
    match = re.match(r"\s*(\d{1,6}[A-Za-z]?)\s+([A-Za-z][\w'-]*)", text)
    return (match.group(1).upper(), match.group(2).lower()) if match else None


def addresses_of(text: str) -> list[str]:
    """Every postal address (a street with its number) written in `text`."""
    found, rest = [], text
    while (match := find_address(rest)) is not None:
        found.append(match.group(0).strip(" ,."))
        rest = rest[match.end() :]
    return found


def check_foreign_personal_data(
    text: str, *, own: OwnData | None, foreign_emails: Iterable[str] = (), told: str = ""
) -> GuardrailResult:
    """Another customer's email address, or a tracking number or street address that is not the
    verified customer's (`own`; None: nobody is verified) and that neither the customer nor a
    help-center passage wrote (`told`)."""
    emails = sorted(set(foreign_emails) & addresses_in([text]))
    if emails:
        return _result("foreign_personal_data", f"another customer's email ({len(emails)})")
    own = own or OwnData()
    told_compact = _compact(told)
    if _SHIPPING_WORDS.search(text):
        for number in _TRACKING.findall(text):
            if number not in own.tracking_numbers and number not in told_compact:
                return _result("foreign_personal_data", "a tracking number not the customer's")
    told_streets = {key for a in addresses_of(told) if (key := _street_key(a))}
    for address in addresses_of(text):
        key = _street_key(address)
        if key and key not in own.streets and key not in told_streets:
            return _result("foreign_personal_data", "a street address not the customer's")
    return NOT_TRIPPED


def check_unbacked_claim(text: str, *, executed_kinds: Iterable[str]) -> GuardrailResult:
    done = set(executed_kinds)
    for kind, pattern in _CLAIMS.items():
        if kind not in done and (m := pattern.search(text)):
            return _result("unbacked_claim", f"claims a {kind} is done: {m.group(0)!r}")
    return NOT_TRIPPED


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9_]+", text.lower())


def check_prompt_echo(
    text: str, *, system_prompt: str, tool_names: Iterable[str] = ()
) -> GuardrailResult:
    """ECHO_WORDS words in a row from the system prompt, or a tool definition (a JSON schema,
    or three tool names) in the reply."""
    words = _words(system_prompt)
    shingles = {tuple(words[i : i + ECHO_WORDS]) for i in range(len(words) - ECHO_WORDS + 1)}
    reply = _words(text)
    for i in range(len(reply) - ECHO_WORDS + 1):
        if tuple(reply[i : i + ECHO_WORDS]) in shingles:
            return _result("prompt_echo", "repeats the system prompt")
    named = {name for name in tool_names if name in text}
    schema = re.search(r'"(parameters|properties|required)"\s*:', text)
    if len(named) >= 3 or (named and schema):
        return _result("prompt_echo", f"repeats tool definitions ({', '.join(sorted(named))})")
    return NOT_TRIPPED


def check_reply(text: str, facts: ReplyFacts) -> GuardrailResult:
    """The output guards in order; the first tripped result wins."""
    for result in (
        check_prompt_echo(text, system_prompt=facts.system_prompt, tool_names=facts.tool_names),
        check_foreign_order_data(
            text,
            verified_customer=facts.verified_customer,
            order_owners=facts.order_owners,
            formats=facts.formats,
        ),
        check_foreign_personal_data(
            text, own=facts.own, foreign_emails=facts.foreign_emails, told=facts.told
        ),
        check_unbacked_claim(text, executed_kinds=facts.executed_kinds),
    ):
        if result.tripped:
            return result
    return NOT_TRIPPED


async def reply_facts(
    text: str,
    ctx: SupportContext,
    *,
    system_prompt: str,
    tools: Sequence[BaseTool],
    customer_texts: Sequence[str] = (),
) -> ReplyFacts:
    """The facts for `text`: owners of the order numbers it names and of the email addresses
    in it, the verified customer's own tracking numbers and addresses (from the store), the
    kinds of action executed in this conversation (from the database). `customer_texts`: what
    the customer wrote in this conversation."""
    store = ctx.deps.store
    formats = await store.order_number_formats()
    owners: dict[str, str | None] = {}
    for number in order_numbers_in(text, formats):
        order = await store.find_order(number)
        owners[number] = order.customer_id if order is not None else None
    told = "\n".join([*customer_texts, ctx.customer_text, *(p.text for p in ctx.passages)])
    foreign: set[str] = set()
    for email in addresses_in([text]) - addresses_in([told]):
        orders = await store.list_orders(email=email, limit=5)
        if any(o.customer_id != ctx.customer_id for o in orders):
            foreign.add(email)
    own = await _own_data(ctx) if ctx.customer_id else None
    async with ctx.deps.sessions() as session:
        kinds = set(
            (
                await session.scalars(
                    select(PendingAction.kind).where(
                        PendingAction.conversation_id == ctx.conversation_id,
                        PendingAction.status == ActionStatus.EXECUTED,
                    )
                )
            ).all()
        )
    return ReplyFacts(
        verified_customer=ctx.customer_id,
        order_owners=owners,
        executed_kinds=kinds,
        system_prompt=system_prompt,
        tool_names={t.name for t in tools},
        formats=formats,
        foreign_emails=foreign,
        own=own,
        told=told,
    )


async def _own_data(ctx: SupportContext) -> OwnData:
    store, own = ctx.deps.store, OwnData()
    addresses: list[Address] = []
    customer = await store.get_customer(ctx.customer_id or "")
    if customer is not None and customer.default_address is not None:
        addresses.append(customer.default_address)
    for order in await store.list_orders(customer_id=ctx.customer_id, limit=50):
        addresses.append(order.shipping_address)
        own.tracking_numbers |= {_compact(s.tracking_number) for s in order.shipments}
    own.streets = {key for a in addresses if (key := _street_key(a.line1))}
    return own


def tool_definitions(tools: Sequence[BaseTool]) -> str:
    """The tools as the model sees them, for the echo check's shingles."""
    return json.dumps([{"name": t.name, "description": t.description} for t in tools])
