"""Product questions in the offline engine: which option values a question names, the replies
built from get_product_details, and whole conversations through the runner."""

from __future__ import annotations

import string
from typing import Any

import pytest

from agent.local.products import (
    is_product_question,
    named_values,
    product_reply,
    templates,
)
from agent.local.state import State
from tests.agent.test_local_engine import Chat, tools
from tests.tools.test_catalog import catalog_store
from tools.catalog import product_view

FLEECE = product_view(catalog_store().products["p10"])
BOTTLE = product_view(catalog_store().products["p11"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("do you have it in M?", {"Size": ["M"]}),
        ("is the blue one in stock?", {"Color": ["Sky Blue"]}),
        ("do you have the navy fleece in a medium", {"Size": ["M"], "Color": ["Navy"]}),
        ("any in large, navvy?", {"Size": ["L"], "Color": ["Navy"]}),  # typo
        ("how much is the fleece?", {}),
        ("I'm looking for a fleece", {}),  # the m of I'm is no size
    ],
)
def test_named_values(text: str, expected: dict[str, list[str]]) -> None:
    assert named_values(text, FLEECE["options"]) == expected


def test_capacity_is_named_with_or_without_a_space() -> None:
    assert named_values("is the 1L one in stock", BOTTLE["options"]) == {"Capacity": ["1 L"]}
    assert named_values("the 500 ml bottle", BOTTLE["options"]) == {"Capacity": ["500 ml"]}


@pytest.mark.parametrize(
    ("text", "product_known", "expected"),
    [
        ("do you have the fleece jacket in M?", False, True),
        ("is the insulated bottle in stock?", False, True),
        ("how much is the fleece jacket?", False, True),
        ("how much is shipping?", False, False),
        ("do you sell replacement buckles for the daypack?", False, False),
        ("do the trail runners run small?", False, False),
        ("what about the blue one?", True, True),
        ("what about the blue one?", False, False),
    ],
)
def test_what_is_a_product_question(text: str, product_known: bool, expected: bool) -> None:
    state = State(product="p10" if product_known else None)
    assert is_product_question(text, state) is expected


def test_replies_say_availability_and_price_of_what_was_named() -> None:
    medium = product_reply("do you have it in M?", FLEECE)
    assert "Switchback Fleece Jacket in M:" in medium
    assert "M / Navy: $110.00, in stock" in medium
    assert "M / Sky Blue: $110.00, in stock, only a few left" in medium
    sold_out = product_reply("is the navy one in L?", FLEECE)
    assert "L / Navy: $110.00, sold out" in sold_out
    assert "Available instead: M / Navy, M / Sky Blue, L / Sky Blue" in sold_out
    backorder = product_reply("L in sky blue?", FLEECE)
    assert "L / Sky Blue: $120.00, available to order" in backorder
    price = product_reply("how much is the fleece?", FLEECE)
    assert price.startswith("The Switchback Fleece Jacket costs from $110.00 to $120.00.")
    assert "Size: M, L; Color: Navy, Sky Blue" in price
    single = product_reply("how much is the bottle?", BOTTLE)
    assert "from $32.00 to $40.00" in single


def test_a_value_the_product_lacks_is_said_so_with_what_exists() -> None:
    xl = product_reply("do you have it in XL?", FLEECE)
    assert xl == (
        "The Switchback Fleece Jacket doesn't come in XL. It comes in Size: M, L; "
        "Color: Navy, Sky Blue."
    )
    assert "doesn't come in Red" in product_reply("is it in stock in red?", FLEECE)
    # a combination that does not exist although each value does
    view = {**FLEECE, "variants": [v for v in FLEECE["variants"] if v["sku"] != "FL-L-NVY"]}
    assert "doesn't come in L / Navy" in product_reply("navy in L?", view)


def test_reply_templates_use_only_known_placeholders() -> None:
    allowed = {
        "overview": {"title", "price"},
        "price_range": {"low", "high"},
        "options": {"options"},
        "available": {"variants"},
        "none_available": {"title"},
        "matches": {"title", "wanted"},
        "variant_line": {"variant", "price", "status"},
        "no_such_variant": {"title", "wanted", "options"},
        "instead": {"variants"},
    }
    for key, text in templates().items():
        used = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        assert used == allowed.get(key, set()), key


# --- through the runner ----------------------------------------------------------------------


@pytest.fixture
async def chat(make_services: Any) -> Chat:
    return Chat(await make_services(store=catalog_store()))


async def test_a_size_question_then_a_colour_follow_up(chat: Chat) -> None:
    first = await chat.say("Do you have the Switchback Fleece Jacket in M?")
    assert tools(first) == [("get_product_details", True)]
    assert "M / Navy: $110.00, in stock" in first.text
    follow = await chat.say("is the blue one in stock?")
    assert tools(follow) == [("get_product_details", True)]
    assert "Sky Blue" in follow.text and "Navy" not in follow.text.split("\n")[1]
    price = await chat.say("how much is the insulated bottle?")
    assert "The Insulated Bottle costs from $32.00 to $40.00." in price.text


async def test_no_verification_and_no_order_data(chat: Chat) -> None:
    reply = await chat.say("is the fleece jacket available in L?")
    assert [name for name, _ in tools(reply)] == ["get_product_details"]
    assert "verify" not in reply.text.lower() and "#100" not in reply.text
    assert "sold out" in reply.text and "available to order" in reply.text


async def test_a_product_we_do_not_sell_goes_to_the_help_center(chat: Chat) -> None:
    reply = await chat.say("do you have the hover board in stock?")
    assert tools(reply) == [("get_product_details", False), ("search_help_center", True)]


async def test_a_size_question_with_no_product_asks_which(chat: Chat) -> None:
    reply = await chat.say("do you have it in M?")
    assert tools(reply) == [("get_product_details", True)]
    assert "Which product do you mean?" in reply.text
    named = await chat.say("do you have the fleece jacket in M?")
    assert "Switchback Fleece Jacket in M:" in named.text
