"""Pulls order numbers, emails and postal codes out of a customer's message."""

from __future__ import annotations

import re
from dataclasses import dataclass

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ORDER_MARKED = re.compile(
    r"(?:#\s*|\border\s*(?:number|no\.?|num|#)?\s*:?\s*#?\s*)(\d{3,8})\b", re.IGNORECASE
)
_BARE_NUMBER = re.compile(r"(?<![\w#@.-])(\d{3,8})(?![\w@-])")
_POSTAL_MARKED = re.compile(
    r"\b(?:zip|postal|post|postcode|zipcode)\s*(?:code)?\s*(?:is|:)?\s*"
    r"([A-Za-z0-9][A-Za-z0-9 -]{2,9}[A-Za-z0-9])",
    re.IGNORECASE,
)
_POSTAL_FORMATS = [
    re.compile(r"\b\d{5}(?:-\d{4})?\b"),  # US ZIP, DE
    re.compile(r"\b[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d\b"),  # CA
    re.compile(r"\b[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}\b"),  # GB
]
_FILLER = re.compile(
    r"\b(my|the|is|it's|its|it|order|number|no|email|e-mail|address|zip|postal|code|and|"
    r"here|sure|ok|okay|yes|oh|sorry|it was|was|of|on|for|with|that|this|a|an|i|used)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Entities:
    order_number: str | None = None
    email: str | None = None
    postal_code: str | None = None
    leftover_words: int = 0  # words that are not entities or filler: a proxy for "says more"

    @property
    def any(self) -> bool:
        return bool(self.order_number or self.email or self.postal_code)


def extract(text: str, *, expecting: str | None = None) -> Entities:
    """`expecting` ("order_number" or "credential") decides what a bare number means."""
    rest = text
    email_match = _EMAIL.search(rest)
    email = email_match.group(0).lower() if email_match else None
    if email_match:
        rest = rest.replace(email_match.group(0), " ")

    order = None
    marked = _ORDER_MARKED.search(rest)
    if marked:
        order = f"#{marked.group(1)}"
        rest = rest[: marked.start()] + " " + rest[marked.end() :]

    postal = None
    postal_marked = _POSTAL_MARKED.search(rest)
    if postal_marked:
        postal = postal_marked.group(1).strip().upper()
        rest = rest[: postal_marked.start()] + " " + rest[postal_marked.end() :]

    if order is None and expecting != "credential":
        bare = _BARE_NUMBER.search(rest)
        if bare and (expecting == "order_number" or len(bare.group(1)) <= 4):
            order = f"#{bare.group(1)}"
            rest = rest[: bare.start()] + " " + rest[bare.end() :]
    if postal is None and (expecting == "credential" or order is not None or email is None):
        for pattern in _POSTAL_FORMATS:
            found = pattern.search(rest)
            if found and (expecting == "credential" or order is not None):
                postal = found.group(0).upper()
                rest = rest[: found.start()] + " " + rest[found.end() :]
                break

    leftover = [w for w in re.findall(r"[A-Za-z']+", _FILLER.sub(" ", rest)) if len(w) > 1]
    return Entities(order, email, postal, len(leftover))
