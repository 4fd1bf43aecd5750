"""The store's own name says nothing about which answer a customer wants.

Every help-center entry is the store's, so "is Tallgrass owned by Petco" matched "Is Tallgrass
Pet Co. hiring?" on the name alone, and was answered with a citation. A question that names
the store is judged answerable only if it is without the name too (HybridRetriever.judge): the
whole name and its first word of four letters or more (customers write "tallgrass",
"northwind") are taken out, as long as two words are left. Its ranking keeps the name, which
can tell the store's own brand from others. Measured in docs/knowledge.md."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_MIN_LEFT = 2  # words a question must keep, else it is searched as written


def name_pattern(store_name: str | None) -> re.Pattern[str] | None:
    """What matches the store's name in a question; None when there is no usable name."""
    words = _WORD.findall(store_name or "")
    if not words:
        return None
    whole = r"\W+".join(re.escape(w) for w in words)
    short = next((w for w in words if len(w) >= 4 and w.lower() != "the"), None)
    options = [whole] + ([re.escape(short)] if short and len(words) > 1 else [])
    return re.compile(rf"\b(?:{'|'.join(options)})(?:'s)?\b\.?", re.IGNORECASE)


def without_store_name(query: str, pattern: re.Pattern[str] | None) -> str:
    """`query` with the store's name taken out, or as it was when too little would be left."""
    if pattern is None:
        return query
    left = " ".join(pattern.sub(" ", query).split())
    return left if len(_WORD.findall(left)) >= _MIN_LEFT else query
