"""The demo generator: determinism, volume, and consistency of every generated order."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from commerce.demo.generate import DemoData, generate_demo_data, generate_demo_store
from commerce.models import Order, OrderStatus
from tests.commerce.conftest import ANCHOR, SEED

S = OrderStatus
DELIVERED_FAMILY = {S.DELIVERED, S.RETURNED, S.PARTIALLY_REFUNDED}
TRACKING_FORMATS = {
    "UPS": r"1Z[0-9A-Z]{6}\d{10}",
    "USPS": r"9400\d{18}",
    "FedEx": r"\d{12}",
    "DHL": r"\d{10}",
}
POSTAL_FORMATS = {
    "US": r"\d{5}",
    "CA": r"[A-Z]\d[A-Z] \d[A-Z]\d",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}",
    "DE": r"\d{5}",
}


def age_days(order: Order) -> float:
    return (ANCHOR - order.created_at).total_seconds() / 86400


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_and_anchor_give_identical_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    generate_demo_store(a, seed=7, anchor=ANCHOR, customers=40, orders=150)
    generate_demo_store(b, seed=7, anchor=ANCHOR, customers=40, orders=150)
    assert _sha(a) == _sha(b)


def test_same_seed_gives_equal_data(demo_data: DemoData) -> None:
    again = generate_demo_data(seed=SEED, anchor=ANCHOR)
    assert again.orders == demo_data.orders
    assert again.customers == demo_data.customers
    assert again.products == demo_data.products


def test_different_seed_gives_different_data(demo_data: DemoData) -> None:
    other = generate_demo_data(seed=SEED + 1, anchor=ANCHOR, customers=40, orders=150)
    assert [c.email for c in other.customers] != [c.email for c in demo_data.customers[:40]]
    assert [o.total for o in other.orders] != [o.total for o in demo_data.orders[:150]]


def test_volume_and_meta(demo_data: DemoData) -> None:
    assert len(demo_data.customers) >= 220
    assert len(demo_data.orders) >= 1100
    assert len(demo_data.products) >= 60
    assert all(len(p.variants) >= 1 for p in demo_data.products)
    assert demo_data.meta["seed"] == str(SEED)
    assert demo_data.meta["anchor"] == ANCHOR.isoformat()


def test_every_status_appears_with_a_plausible_mix(demo_data: DemoData) -> None:
    counts = Counter(o.status for o in demo_data.orders)
    assert set(counts) == set(OrderStatus)
    assert counts[S.DELIVERED] == max(counts.values())  # a store's history is mostly delivered
    assert all(counts[s] >= 5 for s in OrderStatus)


def test_catalog_mix(demo_data: DemoData) -> None:
    products = demo_data.products
    categories = {p.category for p in products}
    assert {
        "footwear",
        "apparel",
        "accessories",
        "outdoor gear",
        "home",
        "gift cards",
    } <= categories
    final_sale_share = sum(p.final_sale for p in products) / len(products)
    assert 0.07 <= final_sale_share <= 0.15
    assert all(p.final_sale for p in products if p.category == "gift cards")
    skus = [v.sku for p in products for v in p.variants]
    assert len(skus) == len(set(skus))
    sized = next(p for p in products if p.title == "Trail Runner")
    assert {v.title.split(" / ")[0] for v in sized.variants} >= {"9", "10"}


def test_customers(demo_data: DemoData) -> None:
    customers = demo_data.customers
    emails = [c.email for c in customers]
    assert len(set(emails)) == len(emails)
    assert all(e == e.lower() and e.split("@")[1].startswith("example.") for e in emails)
    assert any("VIP" in c.tags for c in customers)
    countries = Counter(c.default_address.country for c in customers if c.default_address)
    assert countries["US"] > len(customers) / 2
    assert {"CA", "GB", "DE"} <= set(countries)
    for c in customers:
        assert c.default_address is not None
        country = c.default_address.country
        assert re.fullmatch(POSTAL_FORMATS[country], c.default_address.postal_code), c


def test_order_numbers_follow_creation_order(demo_data: DemoData) -> None:
    numbers = [int(o.number.lstrip("#")) for o in demo_data.orders]
    assert numbers == list(range(1001, 1001 + len(numbers)))
    created = [o.created_at for o in demo_data.orders]
    assert created == sorted(created)
    assert ANCHOR - timedelta(days=120) <= created[0] and created[-1] < ANCHOR


def test_money_adds_up(demo_data: DemoData) -> None:
    for o in demo_data.orders:
        assert o.subtotal == sum(li.unit_price * li.quantity for li in o.line_items), o.number
        assert o.total == o.subtotal + o.shipping_cost + o.tax, o.number
        for amount in (o.subtotal, o.shipping_cost, o.tax, o.total, o.refunded_amount):
            assert amount == amount.quantize(Decimal("0.01"))
        assert Decimal(0) <= o.refunded_amount <= o.total


def test_customer_and_address_links(demo_data: DemoData) -> None:
    by_id = {c.id: c for c in demo_data.customers}
    on_default = 0
    for o in demo_data.orders:
        customer = by_id[o.customer_id]
        assert o.email == customer.email
        on_default += o.shipping_address == customer.default_address
    assert on_default / len(demo_data.orders) > 0.8


def test_shipments_are_consistent(demo_data: DemoData) -> None:
    for o in demo_data.orders:
        item_ids = {li.id for li in o.line_items}
        for s in o.shipments:
            assert re.fullmatch(TRACKING_FORMATS[s.carrier], s.tracking_number), s
            assert s.tracking_url and s.tracking_number in s.tracking_url
            assert set(s.line_item_ids) <= item_ids
            assert o.created_at < s.shipped_at < ANCHOR
            times = [e.at for e in s.events]
            assert times == sorted(times) and times[-1] <= ANCHOR
            assert s.events[0].status == "label_created"
            if s.delivered_at:
                assert s.status == "delivered" and s.events[-1].status == "delivered"
                assert s.shipped_at < s.delivered_at <= ANCHOR
            else:
                assert s.status in {"in_transit", "out_for_delivery", "exception"}
                assert "delivered" not in {e.status for e in s.events}


@pytest.mark.parametrize("status", list(OrderStatus))
def test_status_matches_state_and_age(demo_data: DemoData, status: OrderStatus) -> None:
    orders = [o for o in demo_data.orders if o.status is status]
    assert orders
    for o in orders:
        age = age_days(o)
        items = o.line_items
        returned = sum(li.returned_quantity for li in items)
        if status in (S.PENDING_PAYMENT, S.PAID, S.CANCELLED):
            assert o.shipments == [] and o.delivered_at is None
        if status is S.PENDING_PAYMENT:
            assert age < 2
        elif status is S.PAID:
            assert age < 4
        elif status is S.CANCELLED:
            assert o.cancelled_at and o.cancel_reason
            assert o.created_at < o.cancelled_at <= ANCHOR
        else:
            assert o.cancelled_at is None and o.cancel_reason is None
        if status is S.PARTIALLY_SHIPPED:
            (shipment,) = o.shipments
            assert 0 < len(shipment.line_item_ids) < len(items)  # a strict subset
        if status is S.SHIPPED:
            (shipment,) = o.shipments
            assert 1 <= age < 15
            assert shipment.delivered_at is None and shipment.carrier in TRACKING_FORMATS
            assert set(shipment.line_item_ids) == {li.id for li in items}
            assert shipment.estimated_delivery is not None
        if status in DELIVERED_FAMILY:
            assert o.delivered_at is not None
            assert o.created_at < o.delivered_at <= ANCHOR
            assert all(s.status == "delivered" for s in o.shipments)
        if status is S.DELIVERED:
            assert returned == 0 and o.refunded_amount == 0
        if status is S.RETURNED:
            assert age >= 8
            assert all(li.returned_quantity == li.quantity for li in items)
            assert not any(li.final_sale for li in items)
            assert o.refunded_amount == o.subtotal
        if status is S.PARTIALLY_REFUNDED:
            refunded = [li for li in items if li.refunded_quantity]
            assert len(refunded) == 1 and refunded[0].refunded_quantity == 1
            assert not refunded[0].final_sale
            assert o.refunded_amount == refunded[0].unit_price < o.subtotal


def test_recent_orders_are_not_delivered(demo_data: DemoData) -> None:
    for o in demo_data.orders:
        if age_days(o) < 1:
            assert o.status in {S.PENDING_PAYMENT, S.PAID, S.CANCELLED}, o.number
        if o.delivered_at is not None:
            assert o.delivered_at - o.created_at >= timedelta(days=1), o.number
