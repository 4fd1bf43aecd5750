"""Order lookups for the verified customer."""

from __future__ import annotations

from typing import Any

from langchain.tools import ToolRuntime

from commerce.models import normalize_order_number
from errors import ToolError
from tools.base import ToolKind, support_tool
from tools.context import SupportContext
from tools.views import order_view

NOT_VERIFIED = (
    "The customer is not verified yet. Ask for the order number and the email address or postal "
    "code on the order, then call verify_customer."
)


@support_tool(ToolKind.READ, label="Looking up your order...")
async def get_order(order_number: str, runtime: ToolRuntime[SupportContext]) -> dict[str, Any]:
    """Get the status, items, shipments and tracking of one of the verified customer's orders.

    Only works after verify_customer succeeded in this conversation, and only for that
    customer's own orders.

    Args:
        order_number: The order number, e.g. "#1043".
    """
    ctx = runtime.context
    if ctx.customer_id is None:
        raise ToolError(NOT_VERIFIED)
    number = normalize_order_number(order_number)
    order = await ctx.deps.store.find_order(number) if number else None
    if order is None or order.customer_id != ctx.customer_id:
        # the same words whether the order is unknown or someone else's
        raise ToolError(f"No order {number or order_number!r} was found for this customer.")
    return order_view(order)
