"""Order lookups for the verified customer."""

from __future__ import annotations

from typing import Any

from langchain.tools import ToolRuntime

from commerce.models import Order, normalize_order_number
from commerce.policy import check_address_change, check_cancel, check_items_change
from errors import ToolError
from tools.base import ToolKind, support_tool
from tools.context import SupportContext
from tools.views import order_view, shipment_view

NOT_VERIFIED = (
    "The customer is not verified yet. Ask for the order number and the email address or postal "
    "code on the order, then call verify_customer."
)


async def own_order(ctx: SupportContext, order_number: str) -> Order:
    """The verified customer's order with this number; the same refusal for unknown orders and
    other customers' orders, so nothing leaks about either."""
    if ctx.customer_id is None:
        raise ToolError(NOT_VERIFIED)
    number = normalize_order_number(order_number)
    order = ctx.orders.get(number or "")
    if order is None:
        # the store reads the number in its own formats ("104233" -> "NW-104233")
        order = await ctx.deps.store.find_order(order_number)
    if order is None or order.customer_id != ctx.customer_id:
        raise ToolError(f"No order {number or order_number!r} was found for this customer.")
    return order


@support_tool(ToolKind.READ, label="Looking up your order...")
async def get_order(order_number: str, runtime: ToolRuntime[SupportContext]) -> dict[str, Any]:
    """Get one of the verified customer's orders: status, items with their prices, subtotal,
    shipping, tax, total, the payment method (masked), shipments and tracking, its returns
    and refunds, and whether it can still be cancelled or sent to another address (and why not).

    Only works after verify_customer succeeded in this conversation, and only for that
    customer's own orders.

    Args:
        order_number: The order number, e.g. "#1043".
    """
    ctx = runtime.context
    order = await own_order(ctx, order_number)
    returns = await ctx.deps.store.list_returns(
        customer_id=ctx.customer_id, order_number=order.number
    )
    view = order_view(order, returns)
    # what may still change, by the store's rules, so a request is refused before its details
    # are asked for ("the new address?" on an order that has shipped)
    now, policy = ctx.deps.clock(), ctx.deps.policy
    view["can_change"] = {
        name: {"allowed": decision.allowed, "reason": decision.reason}
        for name, decision in (
            ("cancel", check_cancel(policy, order, now)),
            ("address", check_address_change(policy, order, now)),
            ("items", check_items_change(policy, order, now)),
        )
    }
    return view


@support_tool(ToolKind.READ, label="Looking up your orders...")
async def list_orders(runtime: ToolRuntime[SupportContext], limit: int = 5) -> dict[str, Any]:
    """List the verified customer's most recent orders (number, date, status, total).

    Args:
        limit: How many orders, newest first (at most 10).
    """
    ctx = runtime.context
    if ctx.customer_id is None:
        raise ToolError(NOT_VERIFIED)
    orders = await ctx.deps.store.list_orders(
        customer_id=ctx.customer_id, limit=max(1, min(limit, 10))
    )
    return {
        "orders": [
            {
                "order_number": o.number,
                "placed_on": o.created_at.date().isoformat(),
                "status": o.status.value,
                "total": f"{o.total:.2f}",
                "items": len(o.line_items),
            }
            for o in orders
        ]
    }


@support_tool(ToolKind.READ, label="Tracking your parcel...")
async def track_shipment(order_number: str, runtime: ToolRuntime[SupportContext]) -> dict[str, Any]:
    """Carrier, tracking number, tracking events and estimated delivery of an order's shipments.

    Args:
        order_number: The order number, e.g. "#1043".
    """
    order = await own_order(runtime.context, order_number)
    view = order_view(order)
    return {
        "order_number": order.number,
        "status": view["status"],
        "shipments": [
            {
                **shipment_view(s, order),
                "events": [
                    {
                        "at": e.at.isoformat(),
                        "status": e.status,
                        "location": e.location,
                        "description": e.description,
                    }
                    for e in s.events
                ],
            }
            for s in order.shipments
        ],
    }


@support_tool(ToolKind.READ, label="Checking your refunds...")
async def list_returns(runtime: ToolRuntime[SupportContext]) -> dict[str, Any]:
    """The verified customer's returns and refunds: RMA, order, status and refund amount.

    Use it for "where is my refund?". Refunds are issued once the return arrives.
    """
    ctx = runtime.context
    if ctx.customer_id is None:
        raise ToolError(NOT_VERIFIED)
    returns = await ctx.deps.store.list_returns(customer_id=ctx.customer_id)
    orders = await ctx.deps.store.list_orders(customer_id=ctx.customer_id, limit=20)
    return {
        "returns": [
            {
                "rma": r.rma,
                "order_number": r.order_number,
                "status": r.status,
                "resolution": r.resolution.value,
                "refund_amount": f"{r.refund_amount:.2f}",
                "opened_on": r.created_at.date().isoformat(),
            }
            for r in returns
        ],
        "refunded_orders": [
            {
                "order_number": o.number,
                "refunded": f"{o.refunded_amount:.2f}",
                "status": o.status.value,
            }
            for o in orders
            if o.refunded_amount > 0
        ],
    }
