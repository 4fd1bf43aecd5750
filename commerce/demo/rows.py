"""Domain models -> rows of the demo store tables, and the atomic build of a store file.
(The way back, rows -> models, is queries.py.)"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, insert

from commerce.demo import schema as t
from commerce.models import Address, Customer, Order, OrderStatus, Product

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country")


@dataclass(frozen=True)
class StoreCounts:
    customers: int
    products: int
    variants: int
    orders: int
    line_items: int
    shipments: int

    def summary(self) -> str:
        return ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in vars(self).items())


# --- writing ---------------------------------------------------------------------------------


def _address_row(prefix: str, address: Address | None) -> dict[str, Any]:
    data = address.model_dump() if address else {}
    return {f"{prefix}{field}": data.get(field) for field in ADDRESS_FIELDS}


def insert_store(
    conn: Connection,
    *,
    customers: Sequence[Customer],
    products: Sequence[Product],
    orders: Sequence[Order],
    meta: Mapping[str, str],
) -> None:
    """Insert everything with one executemany per table (the whole demo store takes ~0.1 s)."""
    conn.execute(insert(t.meta), [{"key": k, "value": v} for k, v in meta.items()])
    if customers:
        rows = [
            {
                **c.model_dump(exclude={"default_address", "tags"}),
                "tags": ",".join(c.tags),
                **_address_row("addr_", c.default_address),
            }
            for c in customers
        ]
        conn.execute(insert(t.customers), rows)
    if products:
        conn.execute(
            insert(t.products),
            [
                {
                    **p.model_dump(exclude={"variants", "options"}),
                    "options": json.dumps([o.model_dump() for o in p.options]),
                }
                for p in products
            ],
        )
        conn.execute(
            insert(t.variants),
            [
                {
                    **v.model_dump(exclude={"options", "inventory_policy"}),
                    "options": json.dumps(v.options),
                    "inventory_policy": v.inventory_policy.value,
                    "product_id": p.id,
                    "position": i,
                }
                for p in products
                for i, v in enumerate(p.variants)
            ],
        )
    order_rows, items, ships, ship_items, events = [], [], [], [], []
    for o in orders:
        order_rows.append(
            {
                **o.model_dump(exclude={"line_items", "shipments", "shipping_address"}),
                "status": o.status.value,
                **_address_row("ship_", o.shipping_address),
            }
        )
        items += [
            {**li.model_dump(), "order_id": o.id, "position": i}
            for i, li in enumerate(o.line_items)
        ]
        for i, s in enumerate(o.shipments):
            ships.append(
                {
                    **s.model_dump(exclude={"line_item_ids", "events"}),
                    "order_id": o.id,
                    "position": i,
                }
            )
            ship_items += [
                {"shipment_id": s.id, "line_item_id": li_id, "position": j}
                for j, li_id in enumerate(s.line_item_ids)
            ]
            events += [
                {**e.model_dump(), "shipment_id": s.id, "position": j}
                for j, e in enumerate(s.events)
            ]
    returns, return_items = _past_returns(orders)
    for table, rows in (
        (t.orders, order_rows),
        (t.line_items, items),
        (t.shipments, ships),
        (t.shipment_items, ship_items),
        (t.tracking_events, events),
        (t.returns, returns),
        (t.return_items, return_items),
    ):
        if rows:
            conn.execute(insert(table), rows)


_PAST_REASONS = ("wrong_size", "changed_mind", "not_as_described", "defective")


def _past_returns(orders: Sequence[Order]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The RMA behind every generated `returned` order: its items came back and were refunded
    to the original payment, a day after delivery and received two days later (a returned order
    was delivered at least three days before the store's anchor), so "where is my refund?"
    finds the return that explains the order's status and refunded amount."""
    returns: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for o in orders:
        delivered = o.delivered_at
        back = [li for li in o.line_items if li.returned_quantity]
        if o.status is not OrderStatus.RETURNED or delivered is None or not back:
            continue
        return_id, digits = f"ret_{o.id}", o.number.lstrip("#")
        refund = sum((li.unit_price * li.refunded_quantity for li in back), Decimal("0.00"))
        returns.append(
            {
                "id": return_id,
                "rma": f"RMA-{digits}-1",
                "order_id": o.id,
                "order_number": o.number,
                "customer_id": o.customer_id,
                "reason": _PAST_REASONS[sum(map(ord, o.id)) % len(_PAST_REASONS)],
                "resolution": "refund",
                "refund_amount": refund,
                "restocking_fee": Decimal("0.00"),
                "status": "refunded",
                "instructions": "Returned by mail; refunded to the original payment method.",
                "created_at": delivered + timedelta(days=1),
                "received_at": delivered + timedelta(days=2.5),
                "idempotency_key": f"demo-return-{o.id}",
            }
        )
        lines += [
            {"return_id": return_id, "line_item_id": li.id, "position": i,
             "quantity": li.returned_quantity, "exchange_sku": None}
            for i, li in enumerate(back)
        ]  # fmt: skip
    return returns, lines


def _fast_build_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=OFF")
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def build_store(
    path: Path,
    *,
    customers: Sequence[Customer],
    products: Sequence[Product],
    orders: Sequence[Order],
    meta: Mapping[str, str],
) -> StoreCounts:
    """Write a complete store into a temp file next to `path`, then rename it into place, so a
    reader never sees a half-built file and a failure leaves the old file untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    engine = create_engine(f"sqlite:///{tmp}")
    # No journal and no fsync while building: the file is private until the rename, and a
    # crash leaves only a temp file behind. (os.replace is what makes the result durable.)
    event.listen(engine, "connect", _fast_build_pragmas)
    try:
        with engine.begin() as conn:
            t.metadata.create_all(conn)
            insert_store(conn, customers=customers, products=products, orders=orders, meta=meta)
        engine.dispose()
        os.replace(tmp, path)
    except BaseException:
        engine.dispose()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return StoreCounts(
        customers=len(customers),
        products=len(products),
        variants=sum(len(p.variants) for p in products),
        orders=len(orders),
        line_items=sum(len(o.line_items) for o in orders),
        shipments=sum(len(o.shipments) for o in orders),
    )
