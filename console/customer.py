"""The verified customer of a conversation as the console shows them: name, masked email, their
recent orders (status, items, totals) and returns. Read from the store backend; only a
conversation bound to a verified customer shows one."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from masking import mask_email

log = logging.getLogger(__name__)

ORDER_LIMIT = 10


class OrderLine(BaseModel):
    name: str
    variant: str
    sku: str
    quantity: int
    unit_price: str
    returned_quantity: int


class OrderView(BaseModel):
    number: str
    status: str
    created_at: datetime
    currency: str
    subtotal: str
    shipping: str
    tax: str
    total: str
    refunded: str
    items: list[OrderLine]
    delivered_at: datetime | None = None


class ReturnView(BaseModel):
    rma: str
    order_number: str
    status: str
    resolution: str
    reason: str
    refund_amount: str
    created_at: datetime
    quantity: int = Field(description="items in the return")


class CustomerView(BaseModel):
    id: str
    name: str
    email: str = Field(description="masked: a***@e***.com")
    orders: list[OrderView]
    returns: list[ReturnView]
    store_error: str | None = Field(
        default=None, description="set when the store could not be read; the rest is empty"
    )


def order_view(order: Any) -> OrderView:
    return OrderView(
        number=order.number,
        status=str(order.status),
        created_at=order.created_at,
        currency=order.currency,
        subtotal=str(order.subtotal),
        shipping=str(order.shipping_cost),
        tax=str(order.tax),
        total=str(order.total),
        refunded=str(order.refunded_amount),
        items=[
            OrderLine(
                name=li.name,
                variant=li.variant_title,
                sku=li.sku,
                quantity=li.quantity,
                unit_price=str(li.unit_price),
                returned_quantity=li.returned_quantity,
            )
            for li in order.line_items
        ],
        delivered_at=order.delivered_at,
    )


def return_view(record: Any) -> ReturnView:
    return ReturnView(
        rma=record.rma,
        order_number=record.order_number,
        status=record.status,
        resolution=str(record.resolution),
        reason=record.reason,
        refund_amount=str(record.refund_amount),
        created_at=record.created_at,
        quantity=sum(line.quantity for line in record.lines),
    )


async def customer_view(store: Any, customer_id: str | None) -> CustomerView | None:
    """None when the conversation has no verified customer (or the store no longer knows
    them). A store outage gives the id with `store_error` rather than failing the page."""
    if not customer_id:
        return None
    try:
        customer = await store.get_customer(customer_id)
        if customer is None:
            return None
        orders = await store.list_orders(customer_id=customer_id, limit=ORDER_LIMIT)
        returns = await store.list_returns(customer_id=customer_id)
    except Exception as exc:  # the store is down: the transcript still loads
        log.warning("customer %s: the store could not be read", customer_id, exc_info=True)
        return CustomerView(
            id=customer_id, name="", email="", orders=[], returns=[], store_error=str(exc)[:200]
        )
    return CustomerView(
        id=customer.id,
        name=customer.name,
        email=mask_email(customer.email),
        orders=[order_view(o) for o in orders],
        returns=[return_view(r) for r in sorted(returns, key=lambda r: r.created_at, reverse=True)],
    )
