"""Item changes and the account's saved address on the demo store.

The sync functions run inside one BEGIN IMMEDIATE write transaction (applied.py) and re-check
what the store itself must guarantee whatever its caller says: the order has not shipped, a
swap stays within the same product and has stock, the order is never emptied. The totals are
recomputed with `commerce.edits.price_edits`, the same function the summary the customer
confirmed was priced with. `OrderEditsMixin` gives DemoStore the two StoreBackend writes."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from commerce.demo import queries
from commerce.demo import schema as t
from commerce.demo.order_writes import _COUNTRY, UNSHIPPED, load_order
from commerce.demo.rows import ADDRESS_FIELDS
from commerce.edits import (
    EditAction,
    OrderEdit,
    lines_after,
    partial,
    price_edits,
    settle,
    split_line_id,
)
from commerce.models import Address, Customer, LineItem, Order, OrderStatus
from errors import BackendError


def _variant(conn: Connection, sku: str) -> Any:
    return conn.execute(select(t.variants).where(t.variants.c.sku == sku)).mappings().first()


def _move_stock(conn: Connection, sku: str, delta: int) -> None:
    """`delta` units back to (+) or out of (-) stock; a retired sku has no row to move."""
    if delta:
        conn.execute(
            update(t.variants)
            .where(t.variants.c.sku == sku)
            .values(stock=t.variants.c.stock + delta)
        )


def edit_order(
    conn: Connection, *, order_number: str, edits: list[OrderEdit], expected_total: Decimal
) -> Order:
    order = load_order(conn, order_number)
    if order.status is OrderStatus.CANCELLED:
        raise BackendError(f"order {order.number} is cancelled; its items cannot change")
    if order.shipments or order.status not in UNSHIPPED:
        raise BackendError(f"order {order.number} has already shipped ({order.status.value})")
    try:
        after = lines_after(order, edits)
    except ValueError as exc:
        raise BackendError(str(exc)) from exc
    if not after:
        raise BackendError(f"the changes would leave order {order.number} empty")
    priced = price_edits(order, edits)
    if priced.total != expected_total:
        raise BackendError(
            f"order {order.number} changed since the customer confirmed (the new total would be "
            f"{priced.total}, not {expected_total}); nothing was changed"
        )
    items = {i.id: i for i in order.line_items}
    for edit in edits:  # edits name distinct lines (lines_after checked each one's state)
        item = items[edit.line_item_id]
        if edit.action is EditAction.REMOVE_ITEM:
            conn.execute(delete(t.line_items).where(t.line_items.c.id == item.id))
            _move_stock(conn, item.sku, item.quantity)
            continue
        if partial(edit, item.quantity):
            _split(conn, order.id, item, edit, after)
            continue
        sku, quantity, unit_price = after[item.id]
        if edit.action is EditAction.SWAP_VARIANT:
            variant = _variant(conn, sku)
            if variant is None or variant["product_id"] != item.product_id:
                raise BackendError(f"{sku} is not a variant of {item.name}")
            if unit_price != variant["price"]:
                raise BackendError(f"{sku} no longer costs {unit_price}; ask the customer again")
            values = {"sku": sku, "variant_title": variant["title"], "unit_price": unit_price}
            _move_stock(conn, item.sku, item.quantity)
            needed = quantity
        else:
            values = {"quantity": quantity}
            variant = _variant(conn, item.sku)
            needed = quantity - item.quantity
        if needed > 0 and variant is not None:
            if variant["stock"] < needed and variant["inventory_policy"] != "continue":
                raise BackendError(f"only {max(variant['stock'], 0)} of {sku} left in stock")
        _move_stock(conn, sku, -needed)
        conn.execute(update(t.line_items).where(t.line_items.c.id == item.id).values(**values))
    # a dearer order is never charged here: the extra is recorded as due (a pending charge the
    # customer pays through a payment link), as the summary they confirmed said
    refunded, due = settle(order, priced)
    conn.execute(
        update(t.orders)
        .where(t.orders.c.id == order.id)
        .values(
            subtotal=priced.subtotal,
            tax=priced.tax,
            total=priced.total,
            refunded_amount=refunded,
            amount_due=due,
        )
    )
    return load_order(conn, order_number)


def _split(
    conn: Connection,
    order_id: str,
    item: LineItem,
    edit: OrderEdit,
    after: dict[str, tuple[str, int, Decimal]],
) -> None:
    """A partial swap: the line keeps the units not swapped, the swapped ones become a new
    line of the new variant (same product), with the stock moved for those units only."""
    sku, units, unit_price = after[split_line_id(edit)]
    variant = _variant(conn, sku)
    if variant is None or variant["product_id"] != item.product_id:
        raise BackendError(f"{sku} is not a variant of {item.name}")
    if unit_price != variant["price"]:
        raise BackendError(f"{sku} no longer costs {unit_price}; ask the customer again")
    if variant["stock"] < units and variant["inventory_policy"] != "continue":
        raise BackendError(f"only {max(variant['stock'], 0)} of {sku} left in stock")
    row = conn.execute(select(t.line_items).where(t.line_items.c.id == item.id)).mappings().one()
    last = conn.execute(
        select(func.max(t.line_items.c.position)).where(t.line_items.c.order_id == order_id)
    ).scalar()
    conn.execute(
        update(t.line_items).where(t.line_items.c.id == item.id).values(quantity=after[item.id][1])
    )
    conn.execute(
        insert(t.line_items).values(
            {
                **row,
                "id": split_line_id(edit),
                "position": (last or 0) + 1,
                "sku": sku,
                "variant_title": variant["title"],
                "unit_price": unit_price,
                "quantity": units,
                "returned_quantity": 0,
                "refunded_quantity": 0,
            }
        )
    )
    _move_stock(conn, item.sku, units)
    _move_stock(conn, sku, -units)


def update_default_address(conn: Connection, *, customer_id: str, address: Address) -> Customer:
    """The account's saved address; the customer's existing orders keep theirs."""
    if not _COUNTRY.fullmatch(address.country):
        raise BackendError(f"'{address.country}' is not a two-letter country code (e.g. US)")
    for field in ("name", "line1", "city", "postal_code"):
        if not getattr(address, field).strip():
            raise BackendError(f"the new address needs a {field.replace('_', ' ')}")
    values = {f"addr_{field}": getattr(address, field) for field in ADDRESS_FIELDS}
    done = conn.execute(update(t.customers).where(t.customers.c.id == customer_id).values(**values))
    if done.rowcount != 1:
        raise BackendError(f"customer {customer_id} does not exist")
    customer = queries.load_customer(conn, customer_id)
    assert customer is not None
    return customer


class OrderEditsMixin:
    """DemoStore's item changes and saved-address write, idempotent on their keys."""

    _clock: Callable[[], datetime]
    _number: Callable[[str], Any]
    _apply: Callable[..., Any]

    async def edit_order(
        self,
        *,
        order_number: str,
        edits: list[OrderEdit],
        expected_total: Decimal,
        idempotency_key: str,
    ) -> Order:
        number = self._number(order_number)
        if inspect.isawaitable(number):
            number = await number
        changes = [OrderEdit.model_validate(e) for e in edits]

        def operation(conn: Connection) -> Order:
            return edit_order(
                conn, order_number=number, edits=changes, expected_total=Decimal(expected_total)
            )

        result: Order = await self._apply("order_edit", idempotency_key, number, operation, Order)
        return result

    async def update_default_address(
        self, *, customer_id: str, address: Address, idempotency_key: str
    ) -> Customer:
        def operation(conn: Connection) -> Customer:
            return update_default_address(conn, customer_id=customer_id, address=address)

        result: Customer = await self._apply(
            "default_address", idempotency_key, customer_id[:64], operation, Customer
        )
        return result
