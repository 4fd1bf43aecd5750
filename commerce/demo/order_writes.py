"""Cancellations and address changes on the demo store: sync functions over an open write
transaction (see applied.py), each re-checking what the store itself must guarantee.

The policy gate decides whether an action is *allowed*; these functions refuse what is
*impossible* (an unknown order, cancelling a shipped or cancelled order), because the store must
not trust its callers. A refusal is a non-retryable BackendError and changes nothing."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Connection, update

from commerce.demo import queries
from commerce.demo import schema as t
from commerce.demo.rows import ADDRESS_FIELDS
from commerce.models import Address, Order, OrderStatus
from errors import BackendError

# Nothing has left the warehouse in these states, so the order can still change.
UNSHIPPED = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)
_COUNTRY = re.compile(r"[A-Z]{2}")


def load_order(conn: Connection, order_number: str) -> Order:
    found = queries.load_orders(conn, {"number": order_number}, limit=1)
    if not found:
        raise BackendError(f"order {order_number} does not exist")
    return found[0]


def _refuse_unless_unshipped(order: Order, action: str) -> None:
    if order.status is OrderStatus.CANCELLED:
        raise BackendError(f"order {order.number} is already cancelled; cannot {action}")
    if order.shipments or order.status not in UNSHIPPED:
        raise BackendError(
            f"order {order.number} has already shipped ({order.status.value}); cannot {action}"
        )


def cancel_order(conn: Connection, *, order_number: str, reason: str, now: datetime) -> Order:
    """Cancel an unshipped order. A paid order is refunded in full (the payment was captured);
    an order awaiting payment has nothing to refund."""
    order = load_order(conn, order_number)
    _refuse_unless_unshipped(order, "cancel it")
    if not reason.strip():
        raise BackendError("a cancellation needs a reason")
    refunded = order.total if order.status is OrderStatus.PAID else order.refunded_amount
    conn.execute(
        update(t.orders)
        .where(t.orders.c.id == order.id)
        .values(
            status=OrderStatus.CANCELLED.value,
            cancelled_at=now,
            cancel_reason=reason.strip(),
            refunded_amount=refunded,
        )
    )
    return load_order(conn, order_number)


def update_shipping_address(conn: Connection, *, order_number: str, address: Address) -> Order:
    """Overwrite the order's shipping address (the customer's default address is not touched)."""
    order = load_order(conn, order_number)
    _refuse_unless_unshipped(order, "change the shipping address")
    if not _COUNTRY.fullmatch(address.country):
        raise BackendError(f"'{address.country}' is not a two-letter country code (e.g. US)")
    for field in ("name", "line1", "city", "postal_code"):
        if not getattr(address, field).strip():
            raise BackendError(f"the new address needs a {field.replace('_', ' ')}")
    values = {f"ship_{field}": getattr(address, field) for field in ADDRESS_FIELDS}
    conn.execute(update(t.orders).where(t.orders.c.id == order.id).values(**values))
    return load_order(conn, order_number)
