"""find_changes: the item changes a message asks for, in change_order_items' shape."""

from __future__ import annotations

import pytest

from agent.local.slots import find_changes, find_items

TWO_TEES = [
    {"item": "Classic Tee (M / Black)"},
    {"item": "Classic Tee (L / Black)"},
    {"item": "Trail Runner (42 / Black)"},
]
ONE = [{"item": "Classic Tee (M / Black)"}]


@pytest.mark.parametrize(
    ("text", "items", "expected"),
    [
        (
            "change it to XL",
            ONE,
            [{"item": ONE[0]["item"], "change": "swap_variant", "new_variant": "XL"}],
        ),
        (
            "remove the trail runner",
            TWO_TEES,
            [{"item": "Trail Runner (42 / Black)", "change": "remove_item"}],
        ),
        (
            "make it 3 please",
            ONE,
            [{"item": ONE[0]["item"], "change": "set_quantity", "quantity": 3}],
        ),
        (
            "I only want two",
            ONE,
            [{"item": ONE[0]["item"], "change": "set_quantity", "quantity": 2}],
        ),
        # two lines of one product: the words before the new value name the line
        (
            "change the M black tee to L",
            TWO_TEES,
            [{"item": "change the M black tee", "change": "swap_variant", "new_variant": "L"}],
        ),
        (
            "swap my tee for the navy one",
            ONE,
            [{"item": ONE[0]["item"], "change": "swap_variant", "new_variant": "navy one"}],
        ),
    ],
)
def test_changes_are_read(
    text: str, items: list[dict[str, str]], expected: list[dict[str, object]]
) -> None:
    found = find_changes(text, items)
    assert [{k: (v.strip() if isinstance(v, str) else v) for k, v in c.items()} for c in found] == [
        {k: (v.strip() if isinstance(v, str) else v) for k, v in c.items()} for c in expected
    ]


@pytest.mark.parametrize(
    "text",
    ["I'd like to change the size of an item on order #1003", "hello", "", "can you help me?"],
)
def test_no_change_named_means_ask(text: str) -> None:
    assert find_changes(text, TWO_TEES) == []


SHOP = [
    {"item": "Oxford Shirt (M / White)"},
    {"item": "Enamel Mug (Blue)"},
    {"item": "Merino Sock (M)"},
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "swap the M shirt for L and remove the mug",
            [
                ("Oxford Shirt (M / White)", "swap_variant", "L"),
                ("Enamel Mug (Blue)", "remove_item", None),
            ],
        ),
        (
            "remove the mug, make it 3 socks and change the shirt to XL",
            [
                ("Enamel Mug (Blue)", "remove_item", None),
                ("Merino Sock (M)", "set_quantity", 3),
                ("Oxford Shirt (M / White)", "swap_variant", "XL"),
            ],
        ),
        # a joiner inside the value is not a new change
        (
            "swap the shirt for the blue and white one",
            [("Oxford Shirt (M / White)", "swap_variant", "blue and white one")],
        ),
    ],
)
def test_several_changes_in_one_message(text: str, expected: list[tuple[str, str, object]]) -> None:
    found = find_changes(text, SHOP)
    values = [c.get("new_variant") or c.get("quantity") for c in found]
    assert [(c["item"], c["change"], v) for c, v in zip(found, values, strict=True)] == expected


def test_one_clause_not_understood_drops_the_whole_request() -> None:
    """A summary that left out one of the changes asked for would get a yes for less."""
    assert find_changes("remove the mug and also make it nicer", SHOP) == []


JACKETS = [
    {"item": "Quarry Work Jacket (XS / Black)"},
    {"item": "Quarry Work Jacket (XL / Sky Blue)"},
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("return the Quarry Work Jacket in XS / Black", ["Quarry Work Jacket (XS / Black)"]),
        ("the sky blue jacket please", ["Quarry Work Jacket (XL / Sky Blue)"]),
        ("the jacket", [j["item"] for j in JACKETS]),  # says nothing: both stay, the flow asks
    ],
)
def test_two_lines_of_one_product_told_apart(text: str, expected: list[str]) -> None:
    assert [f["item"] for f in find_items(text, JACKETS)] == expected


@pytest.mark.parametrize("text", ["change it to 1 L", "swap it for the 3-person one", "to 750 ml"])
def test_a_capacity_is_not_a_quantity(text: str) -> None:
    found = find_changes(text, [{"item": "Insulated Bottle (750 ml / White)"}])
    assert [c["change"] for c in found] == ["swap_variant"]
