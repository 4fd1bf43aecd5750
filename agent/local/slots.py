"""Slot values for order actions, read from the customer's words: return reason, resolution,
the items meant, quantities and a new address."""

from __future__ import annotations

import re
from typing import Any

from agent.local.entities import find_address

_REASONS = [
    (
        "wrong_size",
        r"\b(too (small|big|large|tight|loose|short|long|narrow|wide)|doesn'?t fit|don'?t fit|"
        r"didn'?t fit|wrong size|size (is )?wrong|fit|runs? (small|large|big)|"
        r"(need|want) (a )?(bigger|smaller|larger) (size|one))\b",
    ),
    (
        "damaged",
        r"\b(damaged|broken|torn|ripped|cracked|crushed|dented|scratched|stained|"
        r"arrived (broken|damaged)|smashed)\b",
    ),
    (
        "defective",
        r"\b(defective|faulty|stopped working|doesn'?t work|not working|fell apart|"
        r"won'?t (turn on|charge|work)|malfunction\w*|dead on arrival)\b",
    ),
    (
        "wrong_item",
        r"\b(wrong item|wrong (colou?r|product|one|model)|not what i ordered|sent me the wrong|"
        r"received the wrong|got the wrong)\b",
    ),
    (
        "not_as_described",
        r"\b(not as described|looks different|different from the (photo|picture|description)|"
        r"(poor|bad|cheap|low) quality|not as (pictured|advertised|shown)|misleading|"
        r"colou?r (is|was|looks) (off|different))\b",
    ),
    ("arrived_late", r"\b(arrived (too )?late|came too late|took too long|missed the date)\b"),
    (
        "changed_mind",
        r"\b(changed my mind|don'?t (want|need|like) (it|them)|no longer (want|need)|"
        r"didn'?t like|(ordered|bought) (it |them )?by (mistake|accident)|found (it )?cheaper|"
        r"not for me|don'?t love)\b",
    ),
]
_RESOLUTIONS = [
    ("exchange", r"\b(exchange|swap|replace(ment)?|different size|another size|bigger|smaller)\b"),
    ("store_credit", r"\b(store credit|credit|gift card|voucher)\b"),
    ("refund", r"\b(refund|money back|reimburse)\b"),
]
_VARIANT = re.compile(
    r"\b(?:size|in (?:a |an )?)\s*([0-9]{1,2}(?:\.5)?|x{0,2}[sml]|xl|xxl)\b", re.IGNORECASE
)
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "both": 2, "a pair": 1, "pair": 1}
_COUNTRIES = {
    "usa": "US",
    "us": "US",
    "united states": "US",
    "america": "US",
    "canada": "CA",
    "uk": "GB",
    "united kingdom": "GB",
    "england": "GB",
    "germany": "DE",
    "deutschland": "DE",
    "france": "FR",
}
_POSTAL = re.compile(
    r"\b(\d{5}(?:-\d{4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\b",
    re.IGNORECASE,
)


def find_reason(text: str) -> str | None:
    for code, pattern in _REASONS:
        if re.search(pattern, text, re.IGNORECASE):
            return code
    return None


def reason_of(text: str) -> tuple[str, str | None]:
    """The reason code for a customer's own words, and those words when no code fits: a reason
    the rules above do not know is "other", with the customer's text kept for staff."""
    code = find_reason(text)
    if code is not None:
        return code, None
    words = " ".join(text.split())[:200]
    return "other", words or None


def find_resolution(text: str) -> str | None:
    for code, pattern in _RESOLUTIONS:
        if re.search(pattern, text, re.IGNORECASE):
            return code
    return None


_RELATIVE = re.compile(
    r"\b(?:(?:a|one|the next) size (?:smaller|bigger|larger|up|down)|(?:smaller|bigger|larger) "
    r"size|size (?:up|down))\b",
    re.IGNORECASE,
)
_NOT_VARIANT = re.compile(r"\S+@\S+|#\s?\w+", re.IGNORECASE)


def find_variant(text: str) -> str | None:
    match = _VARIANT.search(text)
    if match:
        return match.group(1).upper()
    relative = _RELATIVE.search(text)
    return relative.group(0).lower() if relative else None


def variant_words(text: str) -> str:
    """The message as the wanted variant, without its email and order number (their words are
    not option values: "heather.manning@..." must not read as Heather Grey)."""
    return " ".join(_NOT_VARIANT.sub(" ", text).split())[:120]


_FILLER = re.compile(
    r"\b(i'?d like|i want|i would like|can i|could i|please|pls|an?|the|for|to|it|one|ones|"
    r"exchange|exchanged|swap|swapped|replace|replacement|instead|do|make|get|have|thanks?|"
    r"thank you|yes|ok|okay|go for|an exchange)\b|[^\w\s]",
    re.IGNORECASE,
)


def names_something(text: str) -> bool:
    """Does an answer to "which variant?" say more than "an exchange please"? Only then is it
    passed to the tool as the wanted variant (the tool would refuse a bare resolution word)."""
    return bool(_FILLER.sub(" ", text).strip())


def find_items(text: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items of the order the text names, with a quantity (default 1; "both"/"2" counts)."""
    lowered = text.lower()
    found = []
    for item in items:
        label = item.get("item") or item["name"]
        name = re.sub(r"\s*\(.*\)\s*$", "", label).lower()  # "Tee (M / Black)": the product
        words = [w for w in re.findall(r"[a-z]+", name) if len(w) > 2]
        tail = words[-1] if words else name
        if name in lowered or (tail and re.search(rf"\b{re.escape(tail)}s?\b", lowered)):
            quantity = 1
            before = lowered[: lowered.find(tail)] if tail in lowered else lowered
            number = re.search(
                r"(\d+|one|two|three|four|both|a pair|pair)\s*(x\s*)?\W*\w*\W*$", before
            )
            if number:
                token = number.group(1)
                quantity = int(token) if token.isdigit() else _WORD_NUMBERS.get(token, 1)
            found.append({"item": label, "quantity": max(1, min(quantity, 99))})
    return _told_apart(lowered, found)


def _variant_words(label: str) -> set[str]:
    inside = re.search(r"\(([^)]*)\)\s*$", label)
    return set(re.findall(r"[a-z0-9]+", inside.group(1).lower())) if inside else set()


def _told_apart(lowered: str, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two lines of one product ("Jacket (XS / Black)", "Jacket (XL / Sky Blue)") both match
    its name: the text's variant words say which one ("the jacket in XS / Black"), else a value
    only that line has ("the XS one"); when they say nothing, both stay (the flow asks)."""
    if len(found) < 2:
        return found
    words = set(re.findall(r"[a-z0-9]+", lowered))
    kept = []
    for base in dict.fromkeys(re.sub(r"\s*\(.*\)\s*$", "", f["item"]) for f in found):
        same = [f for f in found if re.sub(r"\s*\(.*\)\s*$", "", f["item"]) == base]
        if len(same) > 1:
            full = [
                f for f in same if _variant_words(f["item"]) and _variant_words(f["item"]) <= words
            ]
            if not full:
                shared = set.intersection(*(_variant_words(f["item"]) for f in same))
                full = [f for f in same if (_variant_words(f["item"]) - shared) & words]
            same = full or same
        kept += same
    return kept


_UNIT = re.compile(r"^(apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|bldg|building|#)\b", re.I)


def _country(part: str) -> str | None:
    last = part.lower().rstrip(".")
    if last in _COUNTRIES:
        return _COUNTRIES[last]
    return part.upper() if len(part) == 2 and part.isalpha() and part.isupper() else None


def parse_address(text: str) -> dict[str, str | None] | None:
    """'12 Oak Ave, Apt 3, Portland, OR 97201, US' -> address fields, or None if incomplete.

    The address is first found in the message (entities.find_address), so "please send it to
    123 Elm Street, Apt 4, Springfield 62704" gives line1 "123 Elm Street", line2 "Apt 4" and
    city "Springfield"; the country defaults to US."""
    span = find_address(text)
    body = span.group(0) if span else text
    parts = [p.strip(" .") for p in body.split(",") if p.strip(" .")]
    if len(parts) < 2:
        return None
    country = "US"
    if len(parts) > 2 and (code := _country(parts[-1])):
        country, parts = code, parts[:-1]
    postal_index = next((i for i in range(len(parts) - 1, 0, -1) if _POSTAL.search(parts[i])), None)
    if postal_index is None:
        return None
    postal = _POSTAL.search(parts[postal_index])
    assert postal is not None
    words = parts[postal_index].replace(postal.group(0), " ").split()
    region = None
    if words and len(words[-1]) == 2 and words[-1].isalpha() and words[-1].isupper():
        region, words = words[-1], words[:-1]
    before = parts[:postal_index]
    previous = before[-1] if before else ""
    plain_previous = bool(previous) and not re.search(r"\d", previous) and not _UNIT.match(previous)
    if words and plain_previous and region is None:
        region, city, before = " ".join(words), previous, before[:-1]  # "Portland, Oregon 97201"
    elif words:
        city = " ".join(words)  # "Springfield 62704"
    elif plain_previous:
        city, before = previous, before[:-1]  # "Portland, OR 97201"
    else:
        return None
    streets = [p for p in before if re.search(r"\d", p) and not _UNIT.match(p)]
    if not streets or not city:
        return None
    line1 = streets[0]
    line2 = ", ".join(p for p in before if p != line1) or None
    return {
        "line1": line1,
        "line2": line2,
        "city": city,
        "region": region,
        "postal_code": postal.group(0).upper(),
        "country": country,
    }


_REMOVE = re.compile(
    r"\b(remove|take (off|out)|delete|drop|don'?t want the|no longer want)\b", re.I
)


def asks_removal(text: str) -> bool:
    """Does the text ask to take an item off the order ("remove the mug", "drop the socks")?"""
    return bool(_REMOVE.search(text))


_QUANTITY = re.compile(
    r"\b(?:make it|change (?:it|the quantity|quantity)[\w ]{0,30}? to|only|just|want|to)\s+"
    r"(\d{1,2}|one|two|three|four|five|six)\b(?!\s*(?:/|gb|tb|mm|cm|in\b|inch|size\b|sizes?\s|"
    r"l\b|ml\b|litres?|liters?|oz\b|kg\b|lbs?\b|-?person\b|p\b))",
    re.I,
)
_SWAP_TO = re.compile(
    r"\b(?:to|for|into|instead(?: of)?|in)\b\s+(?:an?\s+|the\s+)?"
    r"(?!(?:change|swap|switch|exchange|make|get|have|do|see|know|ask|order|my order)\b)(.+)$",
    re.I,
)
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_SOME_OF = re.compile(
    r"\b(\d{1,2}|one|two|three|four|five|six) of (?:the|my|these|those|them)\b", re.I
)


# where one change ends and the next begins: "swap the M shirt for L and remove the mug",
# "remove the socks, make the tee 2": a joiner followed by a change verb (a joiner inside a
# value, "in blue and white", is not followed by one)
_NEXT_CHANGE = re.compile(
    r"\s*(?:[,;]|\band\b|\balso\b|\bplus\b|\bthen\b)(?:\s*(?:[,;]|\band\b|\balso\b|\bplus\b|"
    r"\bthen\b|\bplease\b|\bcould you\b|\bcan you\b))*\s*"
    r"(?=(?:remove|take (?:off|out)|delete|drop|swap|switch|change|exchange|replace|make|set|"
    r"get rid of|i'?d like|i want|i'?ll take|only|just)\b)",
    re.I,
)


def split_changes(text: str) -> list[str]:
    """The message cut into one clause per change it asks for."""
    return [c.strip(" .!") for c in _NEXT_CHANGE.split(" ".join(text.split())) if c.strip(" .!")]


def find_changes(text: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The item changes a message asks for (change_order_items' `changes`), one per clause:
    "remove the socks", "make it 3 tees", "swap the M shirt for L and remove the mug". Nothing
    when any clause is not understood: a summary that silently left out one of the changes
    asked for would get a yes for less than the customer meant."""
    clauses = split_changes(text)
    if len(clauses) <= 1:
        return _one_change(" ".join(text.split()), items)
    changes = []
    for clause in clauses:
        found = _one_change(clause, items)
        if not found:
            return []
        changes.extend(found)
    return changes


def _one_change(words: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The change one clause asks for. The item is named by the words before the new value;
    the tool tells two lines of one product apart by their variant."""
    if not words or not items:
        return []
    # the product names alone ("Classic Tee (M / Black)" -> "Classic Tee") find the line
    plain = [{"item": re.sub(r"\s*\(.*\)\s*$", "", i["item"])} for i in items]
    named = [i for i, n in zip(items, plain, strict=True) if find_items(words, [n])]
    only = items[0]["item"] if len(items) == 1 else None
    only = only or (named[0]["item"] if len(named) == 1 else None)
    swap = _SWAP_TO.search(words)
    before = words[: swap.start()] if swap else words
    item = only or before
    if _REMOVE.search(words):
        return [{"item": item if only else words, "change": "remove_item"}]
    quantity = _QUANTITY.search(words)
    if quantity:
        token = quantity.group(1).lower()
        count = int(token) if token.isdigit() else _NUMBERS[token]
        return [{"item": item if only else words, "change": "set_quantity", "quantity": count}]
    if swap and swap.group(1).strip(" .!"):
        change = {"item": item, "change": "swap_variant", "new_variant": swap.group(1).strip(" .!")}
        some = _SOME_OF.search(before)
        if some:  # "swap one of the two M tees for L": a partial swap
            token = some.group(1).lower()
            change["quantity"] = int(token) if token.isdigit() else _NUMBERS[token]
        return [change]
    return []
