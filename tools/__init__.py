"""The agent's tools. Each module is one domain; `default_tools()` is the set the agent gets."""

from __future__ import annotations

from langchain_core.tools import BaseTool


def default_tools() -> list[BaseTool]:
    from tools.changes import change_default_address, change_order_items
    from tools.catalog import get_product_details, search_products
    from tools.escalation import escalate_to_human
    from tools.identity import verify_customer
    from tools.knowledge import search_help_center
    from tools.orders import get_order, list_orders, list_returns, track_shipment
    from tools.returns import (
        cancel_order,
        change_shipping_address,
        check_return_eligibility,
        start_return,
    )
    from tools.tickets import route_ticket

    return [
        verify_customer,
        get_order,
        list_orders,
        track_shipment,
        list_returns,
        check_return_eligibility,
        start_return,
        cancel_order,
        change_shipping_address,
        change_order_items,
        change_default_address,
        search_help_center,
        search_products,
        get_product_details,
        escalate_to_human,
        route_ticket,
    ]
