"""Entity extraction with the store's own order-number formats: a number that fits none of
them is not an order ("123" where orders run #1001-#2400), lettered numbers are read the
store's way ("nw 104233" -> NW-104233), and without formats the generic '#digits' reading
stays as it was."""

from __future__ import annotations

import pytest

from agent.local.entities import extract
from commerce.models import order_number_formats

HASH = order_number_formats(["#1001", "#1500", "#2400"])
PREFIXED = order_number_formats(["NW-104233", "NW-104240"])


@pytest.mark.parametrize(
    ("text", "expecting", "number"),
    [
        ("order 123 please", "order_number", None),
        ("#123", None, None),
        ("my order is 1043", None, "#1043"),
        ("order #2061, email ada@example.com", None, "#2061"),
    ],
)
def test_hash_store_takes_only_numbers_of_its_shape(
    text: str, expecting: str | None, number: str | None
) -> None:
    assert extract(text, expecting=expecting, formats=HASH).order_number == number


def test_without_formats_a_short_number_is_still_an_order() -> None:
    assert extract("order 123 please", expecting="order_number").order_number == "#123"


@pytest.mark.parametrize(
    "text", ["it's nw 104233", "NW-104233", "order nw104233 email ada@example.com", "104233"]
)
def test_lettered_numbers_read_the_stores_way(text: str) -> None:
    found = extract(text, expecting="order_number", formats=PREFIXED)
    assert found.order_number == "NW-104233"


def test_an_address_is_never_the_order_with_formats() -> None:
    found = extract("send it to 123 Elm Street, Springfield 62704", formats=HASH)
    assert found.order_number is None
    assert found.address is not None and "123 Elm Street" in found.address


def test_an_email_is_not_read_as_a_lettered_number() -> None:
    found = extract("it's ab1234@example.com", expecting="order_number", formats=PREFIXED)
    assert found.order_number is None and found.email == "ab1234@example.com"


SHOP = order_number_formats(["SH-10441", "SH-10442", "SH-10443"])
MIXED = order_number_formats(["A1B2C3", "A4D5E6"])


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("order sh 10442 please", "SH-10442"),
        ("it's SH10442", "SH-10442"),
        ("I want 123 of them", None),
        ("send it to 123 Elm Street, Springfield 62704", None),
    ],
)
def test_prefixed_store(text: str, number: str | None) -> None:
    assert extract(text, formats=SHOP).order_number == number


@pytest.mark.parametrize(
    ("text", "number"),
    [("where is a1b2c3?", "A1B2C3"), ("order A4D5E6, ada@example.com", "A4D5E6"), ("mp3", None)],
)
def test_letters_and_digits_mixed(text: str, number: str | None) -> None:
    assert extract(text, formats=MIXED).order_number == number


@pytest.mark.parametrize(
    "text",
    [
        "how much does 3 years of cover cost for a 1000 dollar laptop",
        "is the $1500 tv in stock",
        "I have 200 points, what are they worth",
        "do you have the 256 GB version",
        "can I still return it after 100 days",
    ],
)
def test_an_amount_a_size_or_a_period_is_not_an_order(text: str) -> None:
    assert extract(text, formats=HASH).order_number is None
    assert extract(text).order_number is None


def test_a_bare_number_beside_words_is_still_an_order() -> None:
    assert extract("where is 1042", formats=HASH).order_number == "#1042"
    assert extract("1042, ada@example.com", formats=HASH).order_number == "#1042"
