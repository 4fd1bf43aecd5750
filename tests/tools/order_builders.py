"""An order of one Trail Runner as the verified customer (c1) or another holds it, in any status,
delivered some days ago, at any price and quantity: the builder the action tests share."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from commerce.models import LineItem, Order, OrderStatus, Shipment
from tests.fakes import NOW, tiny_store_data


def make_order(
    number: str,
    status: OrderStatus,
    *,
    delivered_days: int | None = 10,
    price: str = "89.00",
    quantity: int = 1,
    final_sale: bool = False,
    category: str = "footwear",
    customer: str = "c1",
) -> Order:
    customers, _ = tiny_store_data()
    owner = next(c for c in customers if c.id == customer)
    item = LineItem(
        id=f"{number}-li",
        product_id="p1",
        sku="TR-42-BLK",
        name="Trail Runner",
        variant_title="42 / Black",
        category=category,
        quantity=quantity,
        unit_price=Decimal(price),
        final_sale=final_sale,
    )
    shipments = []
    if status in (
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.RETURNED,
    ):
        delivered = (
            NOW - timedelta(days=delivered_days)
            if delivered_days is not None and status != OrderStatus.SHIPPED
            else None
        )
        shipments.append(
            Shipment(
                id=f"{number}-s",
                carrier="UPS",
                tracking_number="1Z",
                shipped_at=NOW - timedelta(days=(delivered_days or 3) + 3),
                delivered_at=delivered,
                status="delivered" if delivered else "in_transit",
                line_item_ids=[item.id],
            )
        )
    total = item.unit_price * quantity
    return Order(
        id=number,
        number=number,
        customer_id=owner.id,
        email=owner.email,
        created_at=NOW - timedelta(days=(delivered_days or 3) + 6),
        status=status,
        subtotal=total,
        shipping_cost=Decimal(0),
        tax=Decimal(0),
        total=total,
        shipping_address=owner.default_address,
        line_items=[item],
        shipments=shipments,
    )
