"""Addresses are read as addresses: a street number, suite or postcode is never an order
number, and a new address is split into its fields."""

from __future__ import annotations

import pytest

from agent.local.entities import extract
from agent.local.slots import parse_address, reason_of

ADDRESSES = [
    "123 Elm Street, Apt 4, Springfield 62704",
    "please ship it to 123 Elm Street, Apt 4, Springfield 62704",
    "Suite #300, 77 Market St, San Francisco, CA 94105, US",
    "123 Elm, Springfield, IL 62704",
    "10 Downing Street, London SW1A 2AA, UK",
    "Flat 2, 5 High Road, Leeds LS1 4AB",
    "4521 Oak Avenue, Portland, OR 97201, United States",
]


@pytest.mark.parametrize("text", ADDRESSES)
def test_an_address_names_no_order_and_no_credential(text: str) -> None:
    found = extract(text)
    assert found.order_number is None
    assert found.postal_code is None
    assert found.address is not None
    # even while the engine waits for an order number, a street number is not one
    assert extract(text, expecting="order_number").order_number is None


def test_an_order_number_beside_an_address_is_still_found() -> None:
    found = extract("ship order 1043 to 123 Elm Street, Apt 4, Springfield 62704 instead")
    assert found.order_number == "#1043"
    assert found.address == "123 Elm Street, Apt 4, Springfield 62704"


@pytest.mark.parametrize(
    "text",
    ["return 2 Trail Runners from order 1043", "I need 2 of them in place of order 1043"],
)
def test_quantities_are_not_streets(text: str) -> None:
    found = extract(text)
    assert found.address is None and found.order_number == "#1043"


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (
            "please send it to 123 Elm Street, Apt 4, Springfield 62704",
            ("123 Elm Street", "Apt 4", "Springfield", None, "62704", "US"),
        ),
        (
            "12 Oak Ave, Apt 3, Portland, OR 97201, US",
            ("12 Oak Ave", "Apt 3", "Portland", "OR", "97201", "US"),
        ),
        (
            "Suite #300, 77 Market St, San Francisco, CA 94105, US",
            ("77 Market St", "Suite #300", "San Francisco", "CA", "94105", "US"),
        ),
        (
            "10 Downing Street, London SW1A 2AA, UK",
            ("10 Downing Street", None, "London", None, "SW1A 2AA", "GB"),
        ),
        (
            "55 Main Rd, Portland, Oregon 97201",
            ("55 Main Rd", None, "Portland", "Oregon", "97201", "US"),
        ),
        (
            "12 Oak Ave, Toronto, ON M5V 2T6, Canada",
            ("12 Oak Ave", None, "Toronto", "ON", "M5V 2T6", "CA"),
        ),
    ],
)
def test_addresses_are_split_into_fields(text: str, fields: tuple[str | None, ...]) -> None:
    parsed = parse_address(text)
    assert parsed is not None
    keys = ("line1", "line2", "city", "region", "postal_code", "country")
    assert tuple(parsed[k] for k in keys) == fields


@pytest.mark.parametrize("text", ["Portland 97201", "somewhere nice", "Elm Street, Springfield"])
def test_an_incomplete_address_is_refused(text: str) -> None:
    assert parse_address(text) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("they run small", "wrong_size"),
        ("the zipper won't work", "defective"),
        ("poor quality stitching", "not_as_described"),
        ("I ordered them by mistake", "changed_mind"),
        ("got the wrong colour", "wrong_item"),
        ("the box was dented", "damaged"),
    ],
)
def test_free_text_reasons_map_to_codes(text: str, code: str) -> None:
    assert reason_of(text) == (code, None)


def test_an_unknown_reason_is_other_with_the_customers_words() -> None:
    assert reason_of("  my dog  hates the squeak ") == ("other", "my dog hates the squeak")
