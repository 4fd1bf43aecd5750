"""find_changes: the item changes a message asks for, in change_order_items' shape."""

from __future__ import annotations

import pytest

from agent.local.slots import find_changes

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
