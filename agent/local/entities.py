"""Pulls order numbers, emails and postal codes out of a customer's message.

A postal address is found first and set aside: its street number, suite and postcode are parts
of an address, never an order number or a credential ("123 Elm Street, Apt 4, Springfield
62704" names no order)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from commerce.models import OrderNumberFormat, normalize_order_number

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ORDER_MARKED = re.compile(
    r"(?:#\s*|\border\s*(?:number|no\.?|num|#)?\s*:?\s*#?\s*)(\d{3,8})\b", re.IGNORECASE
)
# a bare number is not an amount, a size or a period: "a 1000 dollar laptop", "$500", "256 GB",
# "200 points", "365 days" name no order
_BARE_NUMBER = re.compile(
    r"(?<![\w#@.$€£-])(\d{3,8})(?![\w@-]|[.,]\d)"
    r"(?!\s*(?:%|percent|dollars?|euros?|pounds?|bucks|usd|eur|gbp|cad|aud|gb|tb|mb|mah|watts?|"
    r"volts?|hz|inch(?:es)?|cm|mm|km|miles?|kg|lbs?|oz|ml|days?|weeks?|months?|years?|hours?|"
    r"minutes?|mins|pieces?|pcs|units?|points?|calories|kcal|sq|square)\b)",
    re.IGNORECASE,
)
# "NW-104233", "SO12345", "1043-A": a token with digits that a store's own format may fit
_LETTERED = re.compile(
    r"(?<![\w@.])([A-Za-z]{1,4}[- ]?\d{3,10}(?:-?[A-Za-z0-9]{1,3})?|\d{3,10}-[A-Za-z0-9]{1,3})\b"
)
# "A1B2C3", "7K4Q2": letters and digits mixed in one word, for stores whose numbers look so
_MIXED = re.compile(r"(?<![\w@.-])([A-Za-z0-9]*(?:[A-Za-z]\d|\d[A-Za-z])[A-Za-z0-9]*)(?![\w@-])")
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
_STREET_TYPES = (
    r"street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|"
    r"terrace|parkway|pkwy|highway|hwy|circle|cir|square|sq|crescent|alley|"
    r"strasse|straße|rue|weg|gasse|platz"
)
_UNIT = r"(?i:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|bldg|building)\.?\s*#?\s*[\w-]+"
_POSTCODE = (
    r"\d{5}(?:-\d{4})?|\d{4}|[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d|"
    r"[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}"
)
# a street's name, not "2 of them in place" or "3 pairs for the court"
_NAME_WORD = (
    r"(?!(?i:of|in|on|the|them|it|and|or|pairs?|items?|more|for|to|from|at|x)\b)[A-Za-z][\w.'-]*"
)
_CITY_WORD = rf"(?!(?:{_POSTCODE})\b)[A-Z][\w.'-]*"
# the part after the street: units, city words, a region code, a postcode, a country
_ADDRESS_TAIL = (
    rf"(?:(?:\s*,\s*|\s+)(?:#\s*\w+|{_UNIT}|(?:{_POSTCODE})\b|"
    rf"{_CITY_WORD}(?:\s+{_CITY_WORD}){{0,3}}|[A-Z]{{2}}\b))*"
)
_ADDRESSES = [
    # "123 Elm Street", "12B Baker St.", "Apt 4, 55 Main Rd"
    re.compile(
        rf"(?:{_UNIT}\s*,?\s*)?\b\d{{1,6}}[A-Za-z]?\s+(?:{_NAME_WORD}\s+){{0,4}}"
        rf"(?i:{_STREET_TYPES})\b\.?{_ADDRESS_TAIL}"
    ),
    # no street type, but a city and a postcode after it: "123 Elm, Springfield 62704"
    re.compile(
        rf"\b\d{{1,6}}[A-Za-z]?\s+[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*){{0,3}}\s*,"
        rf"[^,\n]{{0,40}},?\s*[^,\n]{{0,30}}?\b(?:{_POSTCODE})\b{_ADDRESS_TAIL}"
    ),
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
    address: str | None = None  # the text of a postal address in the message, set aside

    @property
    def any(self) -> bool:
        return bool(self.order_number or self.email or self.postal_code or self.address)


def find_address(text: str) -> re.Match[str] | None:
    """The first span of `text` that reads as a postal address (a street with its number)."""
    found = [m for pattern in _ADDRESSES if (m := pattern.search(text))]
    return min(found, key=lambda m: m.start()) if found else None


def _number(digits: str, formats: Sequence[OrderNumberFormat] | None) -> str | None:
    """The order number `digits` would be: '#digits' without formats; with the store's formats,
    only a number that fits one of them ("123" is no order where they run #1001-#2400)."""
    if formats is None:
        return f"#{digits}"
    return normalize_order_number(digits, formats)


def extract(
    text: str,
    *,
    expecting: str | None = None,
    formats: Sequence[OrderNumberFormat] | None = None,
) -> Entities:
    """`expecting` ("order_number", "credential", or "order_or_postal" once an email is known
    without an order number) decides what a bare number means. `formats`: the store's order
    number formats (StoreBackend.order_number_formats); numbers that fit none are not orders,
    and lettered numbers ("nw-104233") are read the store's way."""
    rest = text
    address_match = find_address(rest)
    address = address_match.group(0).strip(" ,.") if address_match else None
    if address_match:
        rest = rest[: address_match.start()] + " " + rest[address_match.end() :]
    email_match = _EMAIL.search(rest)
    email = email_match.group(0).lower() if email_match else None
    if email_match:
        rest = rest.replace(email_match.group(0), " ")

    order = None
    if formats is not None:
        for lettered in _LETTERED.finditer(rest):
            if not lettered.group(1).replace(" ", "").isdigit():
                order = normalize_order_number(lettered.group(1), formats)
                if order is not None:
                    rest = rest[: lettered.start()] + " " + rest[lettered.end() :]
                    break
        for mixed in _MIXED.finditer(rest) if order is None else ():
            order = normalize_order_number(mixed.group(1), formats)
            if order is not None:
                rest = rest[: mixed.start()] + " " + rest[mixed.end() :]
                break
    marked = _ORDER_MARKED.search(rest) if order is None else None
    if marked and (order := _number(marked.group(1), formats)) is not None:
        rest = rest[: marked.start()] + " " + rest[marked.end() :]

    postal = None
    postal_marked = _POSTAL_MARKED.search(rest)
    if postal_marked:
        postal = postal_marked.group(1).strip().upper()
        rest = rest[: postal_marked.start()] + " " + rest[postal_marked.end() :]

    if order is None and postal is None and (email is not None or expecting == "order_or_postal"):
        # an email with a postcode and no order named: the way in without the order number
        for pattern in _POSTAL_FORMATS:
            if found := pattern.search(rest):
                postal = found.group(0).upper()
                rest = rest[: found.start()] + " " + rest[found.end() :]
                break
    if order is None and expecting != "credential":
        bare = _BARE_NUMBER.search(rest)
        if bare and (expecting in ("order_number", "order_or_postal") or len(bare.group(1)) <= 4):
            order = _number(bare.group(1), formats)
            if order is not None:
                rest = rest[: bare.start()] + " " + rest[bare.end() :]
    if postal is None and (expecting == "credential" or order is not None or email is None):
        for pattern in _POSTAL_FORMATS:
            found = pattern.search(rest)
            if found and (expecting == "credential" or order is not None):
                postal = found.group(0).upper()
                rest = rest[: found.start()] + " " + rest[found.end() :]
                break

    leftover = [w for w in re.findall(r"[A-Za-z']+", _FILLER.sub(" ", rest)) if len(w) > 1]
    return Entities(order, email, postal, len(leftover), address)
