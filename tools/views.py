"""The public projection of store objects: what a verified customer may be told."""

from __future__ import annotations

from typing import Any

from commerce.models import Order, Shipment


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


def order_view(order: Order) -> dict[str, Any]:
    return {
        "order_number": order.number,
        "status": order.status.value,
        "placed_on": _date(order.created_at),
        "total": f"{order.total:.2f}",
        "currency": order.currency,
        "refunded": f"{order.refunded_amount:.2f}",
        "items": [
            {
                "name": item.name,
                "variant": item.variant_title,
                "quantity": item.quantity,
                "price": f"{item.unit_price:.2f}",
                "final_sale": item.final_sale,
                "returned_quantity": item.returned_quantity,
            }
            for item in order.line_items
        ],
        "shipments": [shipment_view(s, order) for s in order.shipments],
        "delivered_on": _date(order.delivered_at),
        "cancelled_on": _date(order.cancelled_at),
        "cancel_reason": order.cancel_reason,
        "ship_to_city": order.shipping_address.city,
    }
