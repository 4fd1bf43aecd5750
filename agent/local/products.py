"""Product questions in the offline engine: "do you have it in M?", "is the blue one in stock?",
"how much is the fleece?". The engine asks `get_product_details` (tools/catalog.py) and answers
from what it returns: the option values the customer named, matched against the product's own
options, and each matching variant's availability and price. Catalogue data needs no
verification; a question that names no product in the catalogue goes to the help center."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import yaml
from rapidfuzz import fuzz

from agent.local.state import ORDER_FLOWS, Decision, State, call

_STOCK = re.compile(
    r"\b(in stock|out of stock|sold out|back in stock|available|availability|restock|"
    r"come[s]? in|do you (?:still )?(?:have|stock|carry) (?:it|them|this|that|these|those|the|a|an)"
    r"\b.*\bin\b|(?:have|got) (?:it|them|one) in)\b",
    re.IGNORECASE,
)
_PRICE = re.compile(
    r"\b(how much (?:is|are|does|do|for)|price (?:of|for)|what(?:'s| is) the price|"
    r"cost of|how much .* cost)\b",
    re.IGNORECASE,
)
# a follow-up about the product already discussed: "and in L?", "what about the blue one?"
_FOLLOW_UP = re.compile(
    r"^\s*(?:and|what about|how about|is|are|do you have)\b.*\b(?:one|ones|in \w+)\b",
    re.IGNORECASE,
)
# questions about the store's services, not its products
_NOT_PRODUCTS = re.compile(
    r"\b(ship|shipping|delivery|deliver|postage|return|returns|refund|exchange|duties|customs|"
    r"tax|taxes|gift wrap|wrapping|store|stores|shop|warehouse|replacement|spare|parts?|order|"
    r"orders|account|subscription|membership|discount|coupon|code|warranty|repair)\b",
    re.IGNORECASE,
)
_SIZE_WORDS = {
    "extra small": "XS", "x-small": "XS", "small": "S", "medium": "M", "large": "L",
    "extra large": "XL", "x-large": "XL", "xxl": "XXL",
}  # fmt: skip
_ALIASES = {"gray": "grey", "colour": "color"}
# a size or colour asked for, whether or not the product has it ("do you have it in XL?")
_ASKED_FOR = re.compile(
    r"\b(?:in|size)\s+(?:an?\s+|size\s+)?(xxs|xs|s|m|l|xl|xxl|xxxl|small|medium|large|"
    r"extra large|\d{1,2}(?:\.5)?)\b|\b(black|white|red|blue|green|yellow|pink|purple|orange|"
    r"brown|grey|gray|navy|beige|olive|tan|gold|silver)\b",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[\w$][\w'.$-]*")


@cache
def templates() -> dict[str, str]:
    text = resources.files("agent.local").joinpath("products.yaml").read_text("utf-8")
    return {str(k): str(v) for k, v in yaml.safe_load(text).items()}


def say(key: str, **values: Any) -> str:
    return templates()[key].format(**values)


def is_product_question(text: str, state: State) -> bool:
    """A question about a product's availability or price (not about shipping, returns...)."""
    if _NOT_PRODUCTS.search(text):
        return False
    if _STOCK.search(text) or _PRICE.search(text):
        return True
    return state.product is not None and bool(_FOLLOW_UP.search(text))


def wants(text: str, state: State, names_order: bool, tools: set[str]) -> bool:
    """Outside the order flows, a product question goes to the catalogue first."""
    return (
        "get_product_details" in tools
        and state.flow not in ORDER_FLOWS
        and not names_order
        and is_product_question(text, state)
    )


def ask(state: State, text: str, tools: set[str]) -> Decision:
    state.question = text
    args: dict[str, Any] = {"product": text}
    if state.product:
        args["previous_product_id"] = state.product
    return call(state, tools, "get_product_details", **args)


def _words(text: str) -> list[str]:
    lowered = text.lower()
    for phrase, size in _SIZE_WORDS.items():
        lowered = re.sub(rf"\b{phrase}\b", size.lower(), lowered)
    return [_ALIASES.get(w, w) for w in (t.strip(".'") for t in _TOKEN.findall(lowered)) if w]


def _names(value: str, question: list[str]) -> bool:
    """Does the question name this option value? Short words ("M", "10") must appear as words
    ("medium" counts as M); longer ones may carry a typo; "blue" names "Sky Blue"; "750ml"
    names "750 ml"."""
    value_words = _words(value)
    if not value_words:
        return False
    if "".join(value_words) in question:  # "m", "10", "750ml", "1l"
        return True
    for word in value_words:
        if word in question:
            continue
        if len(word) >= 4 and any(fuzz.ratio(word, q) >= 85 for q in question):
            continue
        # "blue" names "Sky Blue": one distinctive word of a longer value is enough
        if len(value_words) > 1 and any(w in question for w in value_words if len(w) >= 4):
            continue
        return False
    return True


def named_values(text: str, options: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Option name -> the values of it the customer named, in the product's order."""
    question = _words(text)
    found: dict[str, list[str]] = {}
    for option in options:
        values = [v for v in option["values"] if _names(v, question)]
        if values:
            found[option["name"]] = values
    return found


def _money(value: str) -> str:
    return f"${value}"


def _price_text(variants: list[dict[str, Any]]) -> str:
    prices = sorted({float(v["price"]) for v in variants})
    if len(prices) == 1:
        return _money(variants[0]["price"])
    low = min(variants, key=lambda v: float(v["price"]))["price"]
    high = max(variants, key=lambda v: float(v["price"]))["price"]
    return say("price_range", low=_money(low), high=_money(high))


def _status(variant: dict[str, Any]) -> str:
    return say(f"stock_{variant['stock']}")


def product_reply(question: str, view: dict[str, Any]) -> str:
    title, options, variants = view["title"], view["options"], view["variants"]
    named = named_values(question, options)
    listing = "; ".join(f"{o['name']}: {', '.join(o['values'])}" for o in options)
    asked_price = bool(_PRICE.search(question))
    asked_for = _ASKED_FOR.search(question)
    if not named and asked_for:
        word = asked_for.group(1) or asked_for.group(2)
        wanted = word.upper() if len(word) <= 4 and asked_for.group(1) else word.capitalize()
        return say("no_such_variant", title=title, wanted=wanted, options=listing)
    if not named:
        available = [v for v in variants if v["available"]]
        head = say("overview", title=title, price=_price_text(variants))
        lines = [head]
        if listing:
            lines.append(say("options", options=listing))
        if not available:
            lines.append(say("none_available", title=title))
        elif options and not asked_price:
            shown = ", ".join(v["title"] for v in available[:12])
            if len(available) > 12:
                shown += f" (+{len(available) - 12} more)"
            lines.append(say("available", variants=shown))
        return " ".join(lines)
    matching = [
        v for v in variants if all(v["options"].get(name) in vals for name, vals in named.items())
    ]
    wanted = " / ".join(v for vals in named.values() for v in vals)
    if not matching:
        return say("no_such_variant", title=title, wanted=wanted, options=listing)
    lines = [
        say("variant_line", variant=v["title"], price=_money(v["price"]), status=_status(v))
        for v in matching[:6]
    ]
    head = say("matches", title=title, wanted=wanted)
    if not any(v["available"] for v in matching):
        others = [v["title"] for v in variants if v["available"]][:8]
        tail = say("instead", variants=", ".join(others)) if others else ""
        return "\n".join([head, *lines, tail]).strip()
    return "\n".join([head, *lines])


def after_details(failed: bool, data: dict[str, Any], state: State, tools: set[str]) -> Decision:
    """The product's details: the answer. No such product: the help center may know."""
    question = state.question or ""
    if failed:
        return call(state, tools, "search_help_center", query=question)
    state.question = None
    if not data.get("product_id"):
        return Decision(state, text=say("which_product"))
    state.product = data["product_id"]
    return Decision(state, text=product_reply(question, data))
