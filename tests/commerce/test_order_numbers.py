"""Order numbers in the store's own format: normalisation, formats learned from a store's
numbers, the import, the demo store's lookups and writes, and Shopify's lookup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from commerce.demo.importer import StoreImportError, import_store
from commerce.demo.store import DemoStore
from commerce.models import (
    OrderNumberFormat,
    looks_like_order_number,
    normalize_order_number,
    order_number_formats,
)
from commerce.shopify import ShopifyStore
from tests.commerce.test_importer import doc_example, write
from tests.commerce.test_shopify import DOMAIN, TOKEN, FakeShopify, body, order_node, orders


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1043", "#1043"),
        ("#1043", "#1043"),
        ("order # 1043", "#1043"),
        ("Order number: 1043", "#1043"),
        ("nw-104233", "NW-104233"),
        ("SO12345", "SO12345"),
        ("1043-a", "1043-A"),
        ("#NW1001", "#NW1001"),
        ("hello", None),
        ("12", None),
        ("123 Elm", None),  # words after a number: not one order number
        ("x" * 30 + "1234", None),
    ],
)
def test_normalize_without_formats(text: str, expected: str | None) -> None:
    assert normalize_order_number(text) == expected


def test_formats_are_learned_from_numbers_and_applied() -> None:
    formats = order_number_formats(["NW-104233", "NW-104234", "NW-99999"])
    assert formats == [OrderNumberFormat(template="NW-{n}", min_digits=5, max_digits=7)]
    for typed in ("nw 104233", "#NW104233", "104233", "NW-104233", "order nw-104233"):
        assert normalize_order_number(typed, formats) == "NW-104233", typed
    assert normalize_order_number("1043", formats) is None  # too few digits for this store
    suffixed = order_number_formats(["1043-A", "1044-B"])
    assert normalize_order_number("1043a", suffixed) == "1043-A"
    assert normalize_order_number("1043", suffixed) is None  # which suffix? not a guess
    assert order_number_formats([]) == [OrderNumberFormat(template="#{n}")]
    # the most used format comes first
    mixed = order_number_formats(["SO100", "#2001", "#2002"])
    assert [f.template for f in mixed] == ["#{n}", "SO{n}"]


def test_looks_like_order_number_uses_the_digit_count_of_the_store() -> None:
    demo = order_number_formats(["#1001", "#2400"])
    assert looks_like_order_number("#1043", demo) and looks_like_order_number("1043", demo)
    assert not looks_like_order_number("123", demo)  # a street number, not a #1xxx order
    assert not looks_like_order_number("Elm", demo)
    assert looks_like_order_number("123")  # the default format takes 3 to 10 digits
    prefixed = order_number_formats(["NW-104233"])
    assert looks_like_order_number("NW-104233", prefixed)
    assert not looks_like_order_number("#1043", prefixed)


def _prefixed_store(tmp_path: Path) -> Path:
    data = doc_example()
    data["orders"][0]["number"] = "NW-104233"
    data["orders"][1]["number"] = "nw-104234"  # imported as the store writes it: upper case
    db = tmp_path / "store.db"
    import_store(write(tmp_path, data), db)
    return db


async def test_a_prefixed_store_imports_and_finds_orders_as_customers_type_them(
    tmp_path: Path,
) -> None:
    store = DemoStore.open(_prefixed_store(tmp_path))
    try:
        formats = await store.order_number_formats()
        found = {typed: await store.find_order(typed) for typed in ("104233", "nw 104234")}
        missing = await store.find_order("#1043")
        cancelled = await store.cancel_order(
            order_number="104234", reason="customer request", idempotency_key="k-1"
        )
        returns = await store.list_returns(order_number="nw104233")
    finally:
        await store.close()
    assert [f.template for f in formats] == ["NW-{n}"]
    assert {k: o.number for k, o in found.items() if o} == {
        "104233": "NW-104233",
        "nw 104234": "NW-104234",
    }
    assert missing is None
    assert cancelled.number == "NW-104234" and cancelled.status.value == "cancelled"
    assert returns == []


def test_import_refuses_what_is_no_order_number_and_changes_nothing(tmp_path: Path) -> None:
    data = doc_example()
    data["orders"][0]["number"] = "first order"
    db = tmp_path / "store.db"
    with pytest.raises(StoreImportError) as err:
        import_store(write(tmp_path, data), db)
    assert "orders[0] (first order): not an order number" in str(err.value)
    assert not db.exists()


async def test_shopify_finds_a_prefixed_name_from_bare_digits() -> None:
    shop = FakeShopify()
    prefixed: dict[str, Any] = order_node(name="NW-104233")
    shop.on("FindOrder", orders()).on("FindOrder", orders(prefixed))
    shop.on("RecentOrderNames", body({"orders": {"nodes": [{"name": "NW-104232"}]}}))
    store = ShopifyStore(DOMAIN, TOKEN, httpx.AsyncClient(transport=httpx.MockTransport(shop)))
    order = await store.find_order("104233")
    assert order is not None and order.number == "NW-104233"
    queries = [sent["variables"]["query"] for sent in shop.sent("FindOrder")]
    assert queries == ["name:#104233", 'name:"NW-104233"']
    # the formats are learned once
    await store.find_order("104299")
    assert len(shop.sent("RecentOrderNames")) == 1
