"""Catalogue search over Product models: what the demo store (and test stores) answer for
`search_products`. A real platform searches its own index (Shopify: the products query).

Customers type product names loosely ("trail runners", "the fleece jaket", "a blue beanie"), so
each query word is matched against the words of the title, the option values, the category and
the description with a typo-tolerant ratio; title words weigh most. Words that carry no meaning
in a product question ("do you have it in") are dropped first."""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz

from commerce.models import Product

_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_STOP = frozenset(
    "a an the do does you have has got any is are it its in on of for to with and or me my i "
    "we can could would like want need some one ones this that these those there what which "
    "how much price cost costs stock available still sell please size colour color".split()
)
_WEIGHTS = {"title": 3.0, "options": 2.0, "category": 2.0, "description": 0.5}
_SIMILAR = 84  # rapidfuzz ratio at which two words count as the same (one typo in 6 letters)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _stem(word: str) -> str:
    # "runners" ~ "runner", "boots" ~ "boot": enough for product names
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _fields(product: Product) -> dict[str, set[str]]:
    values = [value for option in product.options for value in option.values]
    values += [value for variant in product.variants for value in variant.options.values()]
    return {
        "title": {_stem(w) for w in words(product.title)},
        "options": {_stem(w) for w in words(" ".join(values))},
        "category": {_stem(w) for w in words(product.category)},
        "description": {_stem(w) for w in words(product.description)},
    }


def _match(word: str, candidates: set[str]) -> float:
    if word in candidates:
        return 1.0
    if len(word) < 4:  # short words only match exactly: "m" must not find "mug"
        return 0.0
    best = max((fuzz.ratio(word, c) for c in candidates if abs(len(c) - len(word)) <= 2), default=0)
    return 0.8 if best >= _SIMILAR else 0.0


def score(product: Product, query_words: Iterable[str]) -> float:
    fields = _fields(product)
    query_words = list(query_words)
    total = 0.0
    for word in query_words:
        total += max(_WEIGHTS[name] * _match(word, cands) for name, cands in fields.items())
    if total == 0:
        return 0.0
    # of equal matches, the title the query covers best wins: "trail runner" is the Trail
    # Runner before the Clearance: Last-Season Trail Runner
    title = fields["title"]
    covered = sum(1 for w in title if any(_match(q, {w}) for q in query_words))
    return total + covered / max(1, len(title))


def search_catalog(products: Iterable[Product], query: str, limit: int = 5) -> list[Product]:
    """The products that best match `query`, best first; [] when nothing matches a word."""
    query_words = [_stem(w) for w in words(query) if w not in _STOP]
    if not query_words or limit <= 0:
        return []
    scored = [(score(p, query_words), p) for p in products]
    found = [(s, p) for s, p in scored if s > 0]
    found.sort(key=lambda sp: (-sp[0], sp[1].title))
    if found:
        # a product that matches the title words is what was asked for, not the ones that share
        # a colour or a category word with it
        best = found[0][0]
        found = [(s, p) for s, p in found if s >= best / 2]
    return [p for _, p in found[:limit]]


def title_matches(product: Product, query: str) -> bool:
    """Does `query` name this product (a word of its title), rather than only one of its
    options or its category? "is the blue one in stock" names no product."""
    title = _fields(product)["title"]
    return any(_match(_stem(w), title) for w in words(query) if w not in _STOP)
