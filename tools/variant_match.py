"""Which variant of a product the customer means, from any mix of option values ("the blue one
in M", "linear switches", "256 GB"), matched against the product's own options.

Long values are matched fuzzily (rapidfuzz, so "grey"/"gray" and small typos still match);
short ones ("M", "XL", "42") only as whole words, where a fuzzy score means nothing. Options the
customer did not name keep the value of the item they have: "in XL" for a black M shirt is the
black XL, never the first XL in the list. When that still leaves several variants, or the one
meant is not available, the tool says so and lists what exists; it never picks for them."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from commerce.models import Product, Variant
from errors import ToolError

FUZZY_FLOOR = 86  # rapidfuzz ratio (0-100) for a value of 4+ characters


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text.lower())


def _mentions(value: str, words: list[str]) -> float:
    """How well `words` contain `value` (0-100): exact for short values, fuzzy for long ones."""
    target = _words(value)
    if not target:
        return 0.0
    n = len(target)
    grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    joined = " ".join(target)
    if joined in grams:
        return 100.0
    if len(joined.replace(" ", "")) < 4:
        # "m" in "m" only; "10" not in "100"; plural "xls" not worth guessing
        return 0.0
    return max((fuzz.ratio(joined, g) for g in grams), default=0.0)


def options_of(variant: Variant) -> dict[str, str]:
    """The variant's options; for a store that gives only titles ("42 / Black"), the title's
    parts as unnamed options."""
    if variant.options:
        return variant.options
    return {f"option {i + 1}": part.strip() for i, part in enumerate(variant.title.split("/"))}


def _axes(product: Product) -> dict[str, list[str]]:
    if product.options:
        return {o.name: o.values for o in product.options}
    axes: dict[str, list[str]] = {}
    for variant in product.variants:
        for name, value in options_of(variant).items():
            if value not in axes.setdefault(name, []):
                axes[name].append(value)
    return axes


def wanted_options(product: Product, text: str) -> dict[str, str]:
    """Option name -> the value the text names, per option axis, best score first."""
    words = _words(text)
    chosen: dict[str, str] = {}
    for name, values in _axes(product).items():
        scored = [(_mentions(v, words), v) for v in values]
        best = max(scored, default=(0.0, ""))
        if best[0] >= FUZZY_FLOOR:
            chosen[name] = best[1]
    return chosen


_BIGGER = re.compile(r"\b(bigger|larger|size up|next size up|one up|up a size|longer)\b", re.I)
_SMALLER = re.compile(r"\b(smaller|size down|next size down|one down|down a size|shorter)\b", re.I)


def relative_size(product: Product, text: str, current: Variant | None) -> dict[str, str]:
    """"One size bigger", "the next size down": the Size value next to the customer's own, in
    the product's order of sizes. Nothing when the product has no Size option, the item is not
    known or there is no size beyond theirs (the tool then lists what exists)."""
    step = 1 if _BIGGER.search(text) else -1 if _SMALLER.search(text) else 0
    if not step or current is None:
        return {}
    for name, values in _axes(product).items():
        have = options_of(current).get(name)
        if name.lower() in ("size", "length") and have in values:
            index = values.index(have) + step
            return {name: values[index]} if 0 <= index < len(values) else {}
    return {}


def _label(variant: Variant) -> str:
    return " / ".join(options_of(variant).values())


def describe(product: Product) -> str:
    """The product's variants for the customer, available ones marked."""
    return "; ".join(
        f"{_label(v)} (${v.price:.2f}{'' if v.available else ', out of stock'})"
        for v in product.variants
    )


def choose_variant(
    product: Product, text: str, *, current_sku: str | None = None, quantity: int = 1
) -> Variant:
    """The one variant of `product` that `text` names, for `quantity` units, or a ToolError that
    asks (several fit, none fits, or it is unavailable)."""
    lowered = text.strip().lower()
    for variant in product.variants:  # an exact sku or title wins
        if lowered in (variant.sku.lower(), variant.title.lower()):
            return _available(product, variant, quantity, current_sku)
    current = product.variant(current_sku) if current_sku else None
    wanted = {**relative_size(product, text, current), **wanted_options(product, text)}
    if not wanted:
        raise ToolError(
            f"'{text.strip()[:60]}' names none of the {product.title}'s options. "
            f"It comes in: {describe(product)}."
        )
    fits = [
        v for v in product.variants if all(options_of(v).get(k) == x for k, x in wanted.items())
    ]
    if current is not None and len(fits) > 1:
        # what the customer did not mention stays as it is on their order
        keep = {k: x for k, x in options_of(current).items() if k not in wanted}
        same = [v for v in fits if all(options_of(v).get(k) == x for k, x in keep.items())]
        fits = same or fits
    named = ", ".join(wanted.values())
    if not fits:
        raise ToolError(
            f"{product.title} doesn't come in {named}. It comes in: {describe(product)}."
        )
    if len(fits) > 1:
        options = "; ".join(_label(v) for v in fits)
        raise ToolError(f"Several {product.title} variants are {named}: {options}. Which one?")
    return _available(product, fits[0], quantity, current_sku)


def _available(product: Product, variant: Variant, quantity: int, current: str | None) -> Variant:
    if variant.sku == current:
        raise ToolError(f"That is the {product.title} ({_label(variant)}) already on the order.")
    if not variant.available or (variant.stock < quantity and variant.inventory_policy == "deny"):
        others = [v for v in product.variants if v.available and v.sku != current]
        listed = "; ".join(_label(v) for v in others) or "none right now"
        raise ToolError(
            f"{product.title} in {_label(variant)} is out of stock. Available: {listed}."
        )
    return variant
