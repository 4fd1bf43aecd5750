"""Fixture orders and the item checks of the scenario harness, on their own: lines picked from a
catalogue by option (another colour that keeps the size, two lines of one product, a dearer
variant, a price range), refused when nothing fits; an order's items change only where a
scenario expects it; an exchange names its replacement."""

from __future__ import annotations

from decimal import Decimal

import pytest

from commerce.models import Product, ProductOption, Variant
from commerce.policy import load_policy
from evals.scenarios.checks import OrderState, ReturnState, StoreState, check_store
from evals.scenarios.fixtures import NoFixture, choose_lines
from evals.scenarios.model import LineSpec, OrderCriteria, StoreExpect

POLICY = load_policy()


def tee(size: str, color: str, price: str = "20.00", stock: int = 5) -> Variant:
    return Variant(
        sku=f"T-{size}-{color[:3].upper()}",
        title=f"{size} / {color}",
        price=Decimal(price),
        stock=stock,
        options={"Size": size, "Color": color},
    )


def bottle(capacity: str, price: str) -> Variant:
    return Variant(
        sku=f"B-{capacity}",
        title=capacity,
        price=Decimal(price),
        stock=5,
        options={"Capacity": capacity},
    )


CATALOGUE = [
    Product(
        id="p-bottle",
        title="Bottle",
        category="outdoor",
        options=[ProductOption(name="Capacity", values=["500 ml", "1 L"])],
        variants=[bottle("500 ml", "20.00"), bottle("1 L", "30.00")],
    ),
    Product(
        id="p-tee",
        title="Tee",
        category="apparel",
        options=[
            ProductOption(name="Size", values=["M", "L"]),
            ProductOption(name="Color", values=["Black", "Navy"]),
        ],
        variants=[
            tee("M", "Black"),
            tee("L", "Black"),
            tee("M", "Navy"),
            tee("L", "Navy", stock=0),
        ],
    ),
]


@pytest.mark.parametrize("seed", range(6))
def test_another_colour_keeps_the_size(seed: int) -> None:
    [(product, variant, other)] = choose_lines(
        CATALOGUE, [LineSpec(option="color")], POLICY, ("s", seed)
    )
    assert product.id == "p-tee" and other is not None
    assert other.options["Size"] == variant.options["Size"]
    assert other.options["Color"] != variant.options["Color"] and other.available


def test_two_lines_of_one_product_and_a_dearer_capacity() -> None:
    picked = choose_lines(
        CATALOGUE,
        [
            LineSpec(option="Size"),
            LineSpec(same_product_as=0),
            LineSpec(option="Capacity", dearer=True),
        ],
        POLICY,
        ("x",),
    )
    (p0, v0, _), (p1, v1, _), (p2, v2, o2) = picked
    assert p0.id == p1.id == "p-tee" and v0.sku != v1.sku
    assert (p2.id, v2.sku, o2 and o2.sku) == ("p-bottle", "B-500 ml", "B-1 L")


def test_nothing_fits_is_said() -> None:
    with pytest.raises(NoFixture, match="lines\\[0\\]"):
        choose_lines(CATALOGUE, [LineSpec(option="Material")], POLICY, ("x",))
    with pytest.raises(NoFixture):
        choose_lines(
            CATALOGUE, [LineSpec(option="Capacity", dearer=True, price=(25, 99))], POLICY, ("x",)
        )


def test_same_product_must_name_an_earlier_line() -> None:
    with pytest.raises(ValueError, match="earlier line"):
        OrderCriteria(lines=[LineSpec(same_product_as=0)])


def _state(items: tuple[str, ...], returns: dict[str, ReturnState] | None = None) -> StoreState:
    order = OrderState("#1", "paid", "1 Main St", "Portland", "97201", items)
    return StoreState({"#1": order}, returns or {})


class _Facts:
    number = "#1"


VALUES = {"order": _Facts()}


def test_items_changed_without_being_expected_fail() -> None:
    before = _state(("1 × Tee (M / Black)",))
    after = _state(("1 × Tee (L / Black)",))
    assert check_store(StoreExpect(), before, after, VALUES) == [
        "#1: items changed ['1 × Tee (M / Black)'] -> ['1 × Tee (L / Black)']"
    ]


def test_expected_items_are_checked_both_ways() -> None:
    before = _state(("1 × Mug (Blue)", "1 × Tee (M / Black)"))
    after = _state(("1 × Tee (L / Black)",))
    good = StoreExpect.model_validate({"items": [{"has": ["Tee \\(L"], "lacks": ["Mug"]}]})
    assert check_store(good, before, after, VALUES) == []
    bad = StoreExpect.model_validate({"items": [{"has": ["Tee \\(XL"], "lacks": ["Tee"]}]})
    failures = check_store(bad, before, after, VALUES)
    assert len(failures) == 2 and "should include" in failures[0]
    unchanged = check_store(good, before, before, VALUES)
    assert unchanged == ["#1: the items should change; they did not"]


def test_an_exchange_names_its_replacement() -> None:
    before = _state(("1 × Tee (M / Black)",))
    made = ReturnState("RMA-1-1", "#1", ("Tee",), "exchange", ("T-M-NAV",))
    after = _state(("1 × Tee (M / Black)",), {"RMA-1-1": made})
    right = {"returns": [{"resolution": "exchange", "exchange_to": ["T-M-NAV"]}]}
    wrong = {"returns": [{"resolution": "exchange", "exchange_to": ["T-L-BLA"]}]}
    assert check_store(StoreExpect.model_validate(right), before, after, VALUES) == []
    failures = check_store(StoreExpect.model_validate(wrong), before, after, VALUES)
    assert any("should open a return" in f for f in failures)
