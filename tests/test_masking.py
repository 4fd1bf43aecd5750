"""The one masking module: what it must hide in free text and structured data, and what staff
still need to read (order numbers, prices, dates, quantities, SKUs, tracking numbers)."""

from __future__ import annotations

import json

import pytest

from masking import luhn_ok, mask_args, mask_email, mask_result, mask_text, mask_value

# (text, the personal part that must be gone)
POSITIVE = [
    ("write to ada@example.com please", "ada@example.com"),
    ("Email: Bob.Stone+orders@Mail.Example.CO.UK.", "Bob.Stone+orders@Mail.Example.CO.UK"),
    ("it's zoe_q@quinn-family.net", "quinn-family"),
    ("call me on +44 20 7946 0958", "7946 0958"),
    ("+1 (503) 555-0199 is my cell", "555-0199"),
    ("my number +33 1 23 45 67 89", "23 45 67 89"),
    ("WhatsApp +4915112345678", "4915112345678"),
    ("phone (503) 555-0199", "555-0199"),
    ("phone 503-555-0199", "503-555-0199"),
    ("phone 503.555.0199", "503.555.0199"),
    ("phone 503 555 0199", "503 555 0199"),
    ("toll free 1-800-555-0199", "800-555-0199"),
    ("text 5035550199 when here", "5035550199"),
    ("my zip is 97201", "97201"),
    ("ZIP 10001-1234", "10001-1234"),
    ("postcode SW1A 1AA, London", "SW1A 1AA"),
    ("postcode sw1a 1aa", "sw1a 1aa"),
    ("Manchester M1 1AE", "M1 1AE"),
    ("EC1A1BB", "EC1A1BB"),
    ("Ottawa K1A 0B1", "K1A 0B1"),
    ("toronto m5v3l9", "m5v3l9"),
    ("ship to 12 Elm Street instead", "12 Elm Street"),
    ("new address: 742 Evergreen Terrace, Springfield", "742 Evergreen Terrace"),
    ("221B Baker Street", "221B Baker Street"),
    ("12 old mill road", "12 old mill road"),
    ("1 Main St, Portland", "1 Main St"),
    ("350 Fifth Avenue, Apt 5B, New York", "Apt 5B"),
    ("90 E 5th St.", "90 E 5th St"),
    ("1600 Pennsylvania Avenue NW", "1600 Pennsylvania Avenue"),
    ("44 Kings Way", "44 Kings Way"),
    ("card 4111 1111 1111 1111 exp 12/27", "4111 1111 1111 1111"),
    ("card 4111-1111-1111-1111", "4111-1111-1111-1111"),
    ("amex 378282246310005", "378282246310005"),
    ("5555555555554444", "5555555555554444"),
]

# texts that must come back unchanged
NEGATIVE = [
    "Where is order #1043?",
    "order 10432 has not arrived",
    "Order #10432 please",
    "It cost $129.99, or $12345 in total",
    "Total 126.36 USD for 2 x Merino Sock",
    "I bought 10000 units",
    "delivered on 2026-11-20 at 12:30",
    "on 11/20/2026",
    "about 20% off",
    "RMA-1001-1",
    "SKU TR-42-BLK",
    "tracking 1Z999AA10123456784",
    "return the 42 Black Trail Runner",
    "2 days on the road",
    "I ordered 2 pairs and they are way too big",
    "3 sizes way too big",
    "it took 2 hours to drive there",
    "waited 3 weeks down the street",
    "4111111111111112 is not a card",
    "version 12345.67",
    "order id 1234567",
    "A price of 1,299.00",
    "between 9 and 5 on weekdays",
    "user@localhost",
    "size 10.5 shoes",
]


@pytest.mark.parametrize(("text", "secret"), POSITIVE)
def test_masks_personal_data_in_free_text(text: str, secret: str) -> None:
    masked = mask_text(text)
    assert secret not in masked, masked
    assert secret.lower() not in masked.lower(), masked
    assert mask_text(masked) == masked  # idempotent


@pytest.mark.parametrize("text", NEGATIVE)
def test_leaves_order_numbers_prices_dates_and_quantities(text: str) -> None:
    assert mask_text(text) == text


def test_placeholders_say_what_was_there() -> None:
    masked = mask_text(
        "I'm ada@example.com, +1 503 555 0199, 12 Elm Street, Portland OR 97201, "
        "card 4111 1111 1111 1111, order #1001"
    )
    assert masked == (
        "I'm a***@e***.com, [phone], [address], Portland OR [postal code], card [card], order #1001"
    )


def test_email_keeps_a_hint_only() -> None:
    assert mask_email("ada@example.com") == "a***@e***.com"
    assert mask_email("a***@e***.com") == "a***@e***.com"


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112")


def test_structured_keys_are_masked_whole() -> None:
    args = {
        "order_number": "#1001",
        "email": "ada@example.com",
        "postal_code": "97201",
        "line1": "12 Elm Street",
        "city": "Portland",
        "query": "do you ship to 97201? reply to ada@example.com",
        "quantity": 2,
        "final_sale": True,
        "address": {"name": "Ada Byron", "line1": "1 Main St", "country": "US"},
    }
    masked = mask_args(args)
    blob = json.dumps(masked)
    for secret in ("ada@example.com", "97201", "Elm Street", "Portland", "Ada Byron", "1 Main"):
        assert secret not in blob
    assert masked["order_number"] == "#1001"
    assert masked["quantity"] == 2 and masked["final_sale"] is True
    assert masked["email"].startswith("a***@")
    assert masked["query"] == "do you ship to [postal code]? reply to a***@e***.com"
    assert masked["address"]["country"] == "US"


def test_identifiers_are_never_masked() -> None:
    assert mask_value("order_number", "10432") == "10432"
    assert mask_value("escalation_id", "4111111111111111ab") == "4111111111111111ab"
    assert mask_value("note", "10432") == "[postal code]"


def test_result_stays_json_with_the_fields_staff_read() -> None:
    passages = [{"id": f"p{i}", "title": "Shipping", "text": "word " * 400} for i in range(8)]
    content = json.dumps(
        {
            "answerable": False,
            "confidence": 0.12,
            "order_number": "#1001",
            "status": "in_transit",
            "summary": "Ship order #1001 to 12 Elm Street, Portland 97201, US instead.",
            "ship_to_city": "Portland",
            "shipments": [{"tracking_number": "1Z999AA10123456784", "carrier": "UPS"}],
            "passages": passages,
        }
    )
    assert len(content) > 10_000
    out = mask_result(content)
    assert len(out) <= 2000
    data = json.loads(out)
    assert data["answerable"] is False and data["status"] == "in_transit"
    assert data["order_number"] == "#1001" and data["confidence"] == 0.12
    assert data["summary"] == "Ship order #1001 to [address], Portland [postal code], US instead."
    assert "Portland" not in json.dumps(data["ship_to_city"])
    assert "1Z999AA10123456784" not in out
    assert mask_result(out) == out


def test_a_huge_result_keeps_its_scalars() -> None:
    content = json.dumps({"answerable": True, "rows": [{"k" * 50: "v"} for _ in range(2000)]})
    data = json.loads(mask_result(content, limit=200))
    assert data == {"answerable": True}


def test_non_json_results_are_masked_text() -> None:
    assert mask_result("No order found for bob@example.com") == "No order found for b***@e***.com"
    assert mask_result("") == ""
