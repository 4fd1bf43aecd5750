"""The public projection of store objects: what a verified customer may be told. Money is a
string with two decimals; a payment method is already masked by the store ("Visa •••• 4242")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from commerce.models import Order, ReturnRecord, Shipment


def _date(value: Any) -> str | None:
    return value.date().isoformat() if value is not None else None


def shipment_view(shipment: Shipment, order: Order) -> dict[str, Any]:
    names = {item.id: item.name for item in order.line_items}
    return {
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url,
        "status": shipment.status,
        "shipped_on": _date(shipment.shipped_at),
        "estimated_delivery": _date(shipment.estimated_delivery),
        "delivered_on": _date(shipment.delivered_at),
        "items": [names.get(i, i) for i in shipment.line_item_ids],
        "latest_event": shipment.events[-1].description if shipment.events else None,
    }


def return_view(record: ReturnRecord, order: Order) -> dict[str, Any]:
    items = {item.id: item for item in order.line_items}
    return {
        "rma": record.rma,
        "status": record.status,
        "resolution": record.resolution.value,
        "refund_amount": f"{record.refund_amount:.2f}",
        "restocking_fee": f"{record.restocking_fee:.2f}",
        "opened_on": _date(record.created_at),
        "items": [
            {
                "name": items[line.line_item_id].name if line.line_item_id in items else "",
                "variant": items[line.line_item_id].variant_title
                if line.line_item_id in items
                else "",
                "quantity": line.quantity,
                "exchange_for": line.exchange_sku,
            }
            for line in record.lines
        ],
    }


def order_view(order: Order, returns: Iterable[ReturnRecord] = ()) -> dict[str, Any]:
    return {
        "order_number": order.number,
        "status": order.status.value,
        "placed_on": _date(order.created_at),
        "currency": order.currency,
        "subtotal": f"{order.subtotal:.2f}",
        "shipping": f"{order.shipping_cost:.2f}",
        "tax": f"{order.tax:.2f}",
        "total": f"{order.total:.2f}",
        "payment_method": order.payment_method,
        "refunded": f"{order.refunded_amount:.2f}",
        # left to pay after a change that cost more (policy edits.extra_charge: payment_link)
        "amount_due": f"{order.amount_due:.2f}",
        "items": [
            {
                "name": item.name,
                "variant": item.variant_title,
                "quantity": item.quantity,
                "price": f"{item.unit_price:.2f}",
                "line_total": f"{item.total:.2f}",
                "final_sale": item.final_sale,
                "returned_quantity": item.returned_quantity,
                "refunded_quantity": item.refunded_quantity,
            }
            for item in order.line_items
        ],
        "shipments": [shipment_view(s, order) for s in order.shipments],
        "returns": [return_view(r, order) for r in returns],
        "delivered_on": _date(order.delivered_at),
        "cancelled_on": _date(order.cancelled_at),
        "cancel_reason": order.cancel_reason,
        "ship_to_city": order.shipping_address.city,
    }
