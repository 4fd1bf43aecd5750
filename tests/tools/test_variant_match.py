"""tools/variant_match.py: the variant a customer means, including "one size bigger" relative
to the item they have, with the options they did not name kept."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commerce.models import Product, Variant
from errors import ToolError
from tools.variant_match import choose_variant, relative_size


def _shirt(stock: dict[str, int] | None = None) -> Product:
    variants = []
    for colour in ("Black", "Navy"):
        for size in ("S", "M", "L", "XL"):
            sku = f"TEE-{size}-{colour[:3].upper()}"
            variants.append(
                Variant(
                    sku=sku,
                    title=f"{size} / {colour}",
                    price=Decimal("28.00"),
                    stock=(stock or {}).get(sku, 5),
                    options={"Size": size, "Color": colour},
                )
            )
    return Product(id="p1", title="Tee", category="apparel", variants=variants)


def test_one_size_bigger_keeps_the_colour() -> None:
    chosen = choose_variant(_shirt(), "one size bigger, same colour", current_sku="TEE-M-NAV")
    assert chosen.sku == "TEE-L-NAV"


def test_size_down_and_an_explicit_colour() -> None:
    chosen = choose_variant(_shirt(), "a size smaller in black", current_sku="TEE-M-NAV")
    assert chosen.sku == "TEE-S-BLA"


def test_an_explicit_size_wins_over_bigger() -> None:
    chosen = choose_variant(_shirt(), "bigger, XL please", current_sku="TEE-S-BLA")
    assert chosen.sku == "TEE-XL-BLA"


def test_no_size_beyond_the_largest_lists_what_exists() -> None:
    with pytest.raises(ToolError, match="It comes in"):
        choose_variant(_shirt(), "one size bigger", current_sku="TEE-XL-BLA")


def test_bigger_but_out_of_stock_is_said() -> None:
    with pytest.raises(ToolError, match="out of stock"):
        choose_variant(_shirt({"TEE-L-NAV": 0}), "next size up", current_sku="TEE-M-NAV")


def test_relative_size_needs_the_current_item() -> None:
    assert relative_size(_shirt(), "one size bigger", None) == {}
    assert relative_size(_shirt(), "the blue one", _shirt().variant("TEE-M-NAV")) == {}
