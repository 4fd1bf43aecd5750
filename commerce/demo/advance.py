"""`store advance`: move a demo order along its life so proactive notifications can be tried end
to end. Demo-only, like `store receive`: a real platform's carrier scans do this.

    shipped            a shipment of every item not shipped yet (carrier, tracking number, URL,
                       an estimated delivery four days out, a `label_created` scan)
    in_transit, out_for_delivery, exception, delivered
                       a scan appended to the latest shipment (delivered also sets delivered_at
                       and, once every shipment is delivered, the order's status)
    delayed            the latest shipment's estimated delivery moves `days` later (default 3)

Each call is one write transaction (BEGIN IMMEDIATE, see applied.py); refusals raise
BackendError and change nothing."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, func, insert, select, update

from commerce.demo import schema as t
from commerce.demo.order_writes import load_order
from commerce.demo.shipping import WAREHOUSE, choose_carrier, tracking_number, tracking_url
from commerce.models import Order, OrderStatus
from errors import BackendError

Step = Literal["shipped", "in_transit", "out_for_delivery", "exception", "delivered", "delayed"]
STEPS: tuple[str, ...] = (
    "shipped",
    "in_transit",
    "out_for_delivery",
    "exception",
    "delivered",
    "delayed",
)
_SCANS = {
    "in_transit": "Arrived at carrier facility",
    "out_for_delivery": "Out for delivery",
    "exception": "Delayed: weather or operational issue",
    "delivered": "Delivered, left at front door",
}
ETA_DAYS = 4


def _ship(conn: Connection, order: Order, now: datetime) -> None:
    if order.status in (OrderStatus.CANCELLED, OrderStatus.PENDING_PAYMENT):
        raise BackendError(f"order {order.number} is {order.status.value}; it cannot ship")
    shipped = {i for s in order.shipments for i in s.line_item_ids}
    items = [li.id for li in order.line_items if li.id not in shipped]
    if not items:
        raise BackendError(f"order {order.number} has shipped all its items already")
    rng = random.Random(f"{order.number}:{len(order.shipments)}")
    carrier = choose_carrier(rng, order.shipping_address.country)
    number = tracking_number(rng, carrier)
    shipment_id = f"shp_{order.id}_{len(order.shipments) + 1}"
    eta = (now + timedelta(days=ETA_DAYS)).replace(hour=20, minute=0, second=0, microsecond=0)
    conn.execute(
        insert(t.shipments).values(
            id=shipment_id,
            order_id=order.id,
            position=len(order.shipments),
            carrier=carrier,
            tracking_number=number,
            tracking_url=tracking_url(carrier, number),
            shipped_at=now,
            estimated_delivery=eta,
            delivered_at=None,
            status="in_transit",
        )
    )
    conn.execute(
        insert(t.shipment_items),
        [
            {"shipment_id": shipment_id, "line_item_id": li, "position": j}
            for j, li in enumerate(items)
        ],
    )
    _scan(conn, shipment_id, now, "label_created", WAREHOUSE, "Shipping label created")
    conn.execute(
        update(t.orders).where(t.orders.c.id == order.id).values(status=OrderStatus.SHIPPED.value)
    )


def _scan(
    conn: Connection, shipment_id: str, at: datetime, status: str, location: str, text: str
) -> None:
    position = conn.execute(
        select(func.coalesce(func.max(t.tracking_events.c.position), -1)).where(
            t.tracking_events.c.shipment_id == shipment_id
        )
    ).scalar_one()
    conn.execute(
        insert(t.tracking_events).values(
            shipment_id=shipment_id,
            position=int(position) + 1,
            at=at,
            status=status,
            location=location,
            description=text,
        )
    )


def advance_order(
    conn: Connection, *, order_number: str, to: str, now: datetime, days: int = 3
) -> Order:
    """Applies one step (module docstring) inside the caller's write transaction."""
    if to not in STEPS:
        raise BackendError(f"unknown step {to!r}; one of {', '.join(STEPS)}")
    order = load_order(conn, order_number)
    if to == "shipped":
        _ship(conn, order, now)
        return load_order(conn, order_number)
    if not order.shipments:
        raise BackendError(f"order {order.number} has not shipped; advance it to shipped first")
    shipment = order.shipments[-1]
    if shipment.status == "delivered":
        raise BackendError(f"order {order.number}'s shipment is delivered already")
    if to == "delayed":
        if days < 1:
            raise BackendError("a delay is at least one day")
        base = shipment.estimated_delivery or now
        conn.execute(
            update(t.shipments)
            .where(t.shipments.c.id == shipment.id)
            .values(estimated_delivery=base + timedelta(days=days))
        )
        return load_order(conn, order_number)
    address = order.shipping_address
    place = f"{address.city}, {address.region or address.country}"
    location = WAREHOUSE if to == "in_transit" else place
    _scan(conn, shipment.id, now, to, location, _SCANS[to])
    values: dict[str, object] = {"status": to}
    if to == "delivered":
        values["delivered_at"] = now
    conn.execute(update(t.shipments).where(t.shipments.c.id == shipment.id).values(**values))
    if to == "delivered":
        others = [s for s in order.shipments[:-1] if s.status != "delivered"]
        shipped = {i for s in order.shipments for i in s.line_item_ids}
        if not others and all(li.id in shipped for li in order.line_items):
            conn.execute(
                update(t.orders)
                .where(t.orders.c.id == order.id)
                .values(status=OrderStatus.DELIVERED.value)
            )
    return load_order(conn, order_number)
