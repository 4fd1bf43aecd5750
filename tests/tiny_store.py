"""The tiny store every fake store starts from: two customers (Ada with a partly shipped and a
delivered order, Bob with a paid one) and two products, at a fixed NOW."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from commerce.models import (
    Address,
    Customer,
    LineItem,
    Order,
    OrderStatus,
    Product,
    Shipment,
    TrackingEvent,
    Variant,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _address(name: str, postal: str, city: str = "Portland") -> Address:
    return Address(
        name=name, line1="1 Main St", city=city, region="OR", postal_code=postal, country="US"
    )


def tiny_store_data() -> tuple[list[Customer], list[Order]]:
    ada = Customer(
        id="c1",
        email="ada@example.com",
        first_name="Ada",
        last_name="Byron",
        created_at=NOW - timedelta(days=300),
        default_address=_address("Ada", "97201"),
    )
    bob = Customer(
        id="c2",
        email="bob@example.com",
        first_name="Bob",
        last_name="Stone",
        created_at=NOW - timedelta(days=200),
        default_address=_address("Bob", "10001"),
    )
    boots = LineItem(
        id="li1",
        product_id="p1",
        sku="TR-42-BLK",
        name="Trail Runner",
        variant_title="42 / Black",
        category="footwear",
        quantity=1,
        unit_price=Decimal("89.00"),
    )
    socks = LineItem(
        id="li2",
        product_id="p2",
        sku="MS-M",
        name="Merino Sock",
        variant_title="M",
        category="underwear & socks",
        quantity=2,
        unit_price=Decimal("14.00"),
        final_sale=True,
    )
    shipped = Shipment(
        id="s1",
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
        tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
        shipped_at=NOW - timedelta(days=2),
        estimated_delivery=NOW + timedelta(days=2),
        status="in_transit",
        line_item_ids=["li1"],
        events=[
            TrackingEvent(
                at=NOW - timedelta(days=1),
                status="in_transit",
                location="Reno, NV",
                description="In transit",
            )
        ],
    )
    delivered = shipped.model_copy(
        update={
            "id": "s2",
            "delivered_at": NOW - timedelta(days=5),
            "status": "delivered",
            "line_item_ids": ["li1", "li2"],
        }
    )

    def order(oid: str, number: str, customer: Customer, status: OrderStatus, **kw: Any) -> Order:
        return Order(
            id=oid,
            number=number,
            customer_id=customer.id,
            email=customer.email,
            created_at=NOW - timedelta(days=10),
            status=status,
            subtotal=Decimal("117.00"),
            shipping_cost=Decimal("0.00"),
            tax=Decimal("9.36"),
            total=Decimal("126.36"),
            shipping_address=customer.default_address,
            line_items=[boots, socks],
            **kw,
        )

    orders = [
        order("o1", "#1001", ada, OrderStatus.PARTIALLY_SHIPPED, shipments=[shipped]),
        order("o2", "#1002", ada, OrderStatus.DELIVERED, shipments=[delivered]),
        order("o3", "#1003", bob, OrderStatus.PAID),
    ]
    return [ada, bob], orders


def tiny_products() -> list[Product]:
    return [
        Product(
            id="p1",
            title="Trail Runner",
            category="footwear",
            variants=[
                Variant(sku="TR-42-BLK", title="42 / Black", price=Decimal("89.00"), stock=3),
                Variant(sku="TR-43-BLK", title="43 / Black", price=Decimal("89.00"), stock=2),
                Variant(sku="TR-44-BLK", title="44 / Black", price=Decimal("89.00"), stock=0),
            ],
        ),
        Product(
            id="p2",
            title="Merino Sock",
            category="underwear & socks",
            final_sale=True,
            variants=[Variant(sku="MS-M", title="M", price=Decimal("14.00"), stock=9)],
        ),
    ]
