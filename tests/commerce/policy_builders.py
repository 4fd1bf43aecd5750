"""Builders for the policy tests: hand-made orders around one fixed `NOW`, so every case reads
as a sentence ("delivered 31 days ago, wrong size, $80 -> refused")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from commerce.models import Address, LineItem, Order, OrderStatus, Shipment
from commerce.policy import Decision, StorePolicy, check_return, load_policy

NOW = datetime(2025, 6, 1, 15, 0, tzinfo=UTC)
POLICY = load_policy()
ADDRESS = Address(
    name="Jo Rivera",
    line1="12 Alder St",
    city="Portland",
    region="OR",
    postal_code="97205",
    country="US",
)


def item(
    *,
    price: str = "80.00",
    quantity: int = 1,
    returned: int = 0,
    final_sale: bool = False,
    category: str = "footwear",
    item_id: str = "li_1",
) -> LineItem:
    return LineItem(
        id=item_id,
        product_id="prod_1",
        sku="TR-9",
        name="Trail Runner",
        variant_title="9 / Black",
        category=category,
        quantity=quantity,
        unit_price=Decimal(price),
        final_sale=final_sale,
        returned_quantity=returned,
    )


def order(
    line: LineItem | None = None,
    *,
    status: OrderStatus = OrderStatus.DELIVERED,
    delivered_days_ago: int | None = 10,
    shipped: bool = True,
    placed_hours_ago: float = 24 * 40,
) -> Order:
    line = line or item()
    shipments = []
    if shipped:
        delivered = (
            NOW - timedelta(days=delivered_days_ago) if delivered_days_ago is not None else None
        )
        shipments.append(
            Shipment(
                id="shp_1",
                carrier="UPS",
                tracking_number="1Z999AA10123456784",
                shipped_at=NOW - timedelta(days=45),
                delivered_at=delivered,
                status="delivered" if delivered else "in_transit",
                line_item_ids=[line.id],
            )
        )
    total = line.unit_price * line.quantity
    return Order(
        id="ord_1043",
        number="#1043",
        customer_id="cus_1",
        email="jo@example.com",
        created_at=NOW - timedelta(hours=placed_hours_ago),
        status=status,
        subtotal=total,
        shipping_cost=Decimal("0.00"),
        tax=Decimal("0.00"),
        total=total,
        shipping_address=ADDRESS,
        line_items=[line],
        shipments=shipments,
    )


def ret(
    o: Order,
    *,
    quantity: int = 1,
    reason: str = "wrong_size",
    prior: int = 0,
    policy: StorePolicy = POLICY,
    line: LineItem | None = None,
) -> Decision:
    return check_return(policy, o, line or o.line_items[0], quantity, reason, NOW, prior)


def with_rules(**changes: Any) -> StorePolicy:
    """The demo policy with some sections changed, e.g. cancellation={"window_hours": 2}."""
    data = POLICY.model_dump(mode="json")
    for section, values in changes.items():
        data[section].update(values)
    return StorePolicy.model_validate(data)
