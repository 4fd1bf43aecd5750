"""Slot values for order actions, read from the customer's words: return reason, resolution,
the items meant, quantities and a new address."""

from __future__ import annotations

import re
from typing import Any

_REASONS = [
    (
        "wrong_size",
        r"\b(too (small|big|large|tight|loose|short|long)|doesn'?t fit|don'?t fit|"
        r"didn'?t fit|wrong size|size (is )?wrong|fit)\b",
    ),
    ("damaged", r"\b(damaged|broken|torn|ripped|cracked|crushed|arrived (broken|damaged))\b"),
    ("defective", r"\b(defective|faulty|stopped working|doesn'?t work|not working|fell apart)\b"),
    (
        "wrong_item",
        r"\b(wrong item|wrong (colou?r|product)|not what i ordered|sent me the wrong)\b",
    ),
    (
        "not_as_described",
        r"\b(not as described|looks different|different from the (photo|picture))\b",
    ),
    ("arrived_late", r"\b(arrived (too )?late|came too late)\b"),
    (
        "changed_mind",
        r"\b(changed my mind|don'?t (want|need|like) (it|them)|no longer (want|need)|"
        r"didn'?t like)\b",
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


def find_resolution(text: str) -> str | None:
    for code, pattern in _RESOLUTIONS:
        if re.search(pattern, text, re.IGNORECASE):
            return code
    return None


def find_variant(text: str) -> str | None:
    match = _VARIANT.search(text)
    return match.group(1).upper() if match else None


def find_items(text: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items of the order the text names, with a quantity (default 1; "both"/"2" counts)."""
    lowered = text.lower()
    found = []
    for item in items:
        label = item.get("item") or item["name"]
        name = label.lower()
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
    return found


def parse_address(text: str) -> dict[str, str] | None:
    """'12 Oak Ave, Apt 3, Portland, OR 97201, US' -> address fields, or None if incomplete."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) < 3:
        return None
    country = "US"
    last = parts[-1].lower().rstrip(".")
    if last in _COUNTRIES or (len(last) == 2 and last.isalpha()):
        country = _COUNTRIES.get(last, last.upper())
        parts = parts[:-1]
    postal_index = next((i for i in range(len(parts) - 1, 0, -1) if _POSTAL.search(parts[i])), None)
    if postal_index is None:
        return None
    postal_part = parts[postal_index]
    postal = _POSTAL.search(postal_part)
    assert postal is not None
    region = postal_part.replace(postal.group(0), "").strip() or None
    city_index = (
        postal_index - 1 if region is not None or postal_part == postal.group(0) else postal_index
    )
    if region is None and postal_part != postal.group(0):
        city = postal_part.replace(postal.group(0), "").strip()
    else:
        city = parts[city_index]
    if city_index < 1 and region is not None:
        return None
    line1 = parts[0]
    line2 = ", ".join(parts[1:city_index]) or None if city_index > 1 else None
    if not re.search(r"\d", line1) or not city:
        return None
    return {
        "line1": line1,
        "line2": line2,
        "city": city,
        "region": region,
        "postal_code": postal.group(0).upper(),
        "country": country,
    }
