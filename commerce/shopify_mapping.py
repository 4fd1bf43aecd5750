"""Shopify Admin GraphQL objects (as parsed JSON) -> our domain models.

Ids stay Shopify's global ids ("gid://shopify/LineItem/1"), so a ReturnLine built from an Order
we returned points straight back at Shopify. Money comes from the `*Set.shopMoney` fields (the
shop's currency)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from commerce.models import (
    Address,
    Customer,
    InventoryPolicy,
    LineItem,
    Order,
    OrderStatus,
    Product,
    ProductOption,
    Resolution,
    ReturnLine,
    ReturnRecord,
    Shipment,
    TrackingEvent,
    Variant,
)

Json = dict[str, Any]
_LIVE_RETURNS = {"OPEN", "REQUESTED", "CLOSED"}  # not CANCELED / DECLINED
_FINAL_SALE_TAGS = {"final-sale", "final sale", "final_sale"}
_EVENT_STATUS = {
    "LABEL_PRINTED": "label_created",
    "LABEL_PURCHASED": "label_created",
    "CONFIRMED": "label_created",
    "IN_TRANSIT": "in_transit",
    "OUT_FOR_DELIVERY": "out_for_delivery",
    "DELIVERED": "delivered",
    "FAILURE": "exception",
    "ATTEMPTED_DELIVERY": "exception",
}
_SHIPMENT_STATUS = {
    "DELIVERED": "delivered",
    "OUT_FOR_DELIVERY": "out_for_delivery",
    "FAILURE": "exception",
    "ATTEMPTED_DELIVERY": "exception",
    "NOT_DELIVERED": "exception",
}
# What support-agent writes into each return line's note: the key's marker and what the first
# call was asked for, so a replay can rebuild the same ReturnRecord (see shopify.py).
_NOTE = re.compile(
    r"support-agent (?P<marker>sa-[0-9a-f]{20}) (?P<reason>\S+) (?P<resolution>\S+) "
    r"refund=(?P<refund>[\d.]+) fee=(?P<fee>[\d.]+)(?: exchange=(?P<exchange>\S+))?"
)


def money(value: Json | None) -> Decimal:
    return Decimal(str(value["shopMoney"]["amount"])) if value else Decimal("0.00")


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def address(raw: Json | None) -> Address | None:
    if not raw or not raw.get("address1"):
        return None
    name = raw.get("name") or f"{raw.get('firstName') or ''} {raw.get('lastName') or ''}".strip()
    return Address(
        name=name,
        line1=raw["address1"],
        line2=raw.get("address2") or None,
        city=raw.get("city") or "",
        region=raw.get("provinceCode"),
        postal_code=raw.get("zip") or "",
        country=raw.get("countryCodeV2") or "",
    )


def address_input(value: Address) -> Json:
    """Our Address as a MailingAddressInput."""
    first, _, last = value.name.strip().rpartition(" ")
    return {
        "firstName": first or None,
        "lastName": last,
        "address1": value.line1,
        "address2": value.line2,
        "city": value.city,
        "provinceCode": value.region,
        "zip": value.postal_code,
        "countryCode": value.country,
    }


def _shipment(raw: Json) -> Shipment:
    tracking = (raw.get("trackingInfo") or [{}])[0]
    delivered_at = when(raw.get("deliveredAt"))
    status = "delivered" if delivered_at else _SHIPMENT_STATUS.get(raw.get("displayStatus") or "")
    events = [
        TrackingEvent(
            at=when(e["happenedAt"]),  # type: ignore[arg-type]
            status=_EVENT_STATUS.get(e.get("status") or "", "in_transit"),
            location=", ".join(p for p in (e.get("city"), e.get("province")) if p) or None,
            description=e.get("message") or (e.get("status") or "").replace("_", " ").lower(),
        )
        for e in (raw.get("events") or {}).get("nodes", [])
    ]
    return Shipment(
        id=raw["id"],
        carrier=tracking.get("company") or "",
        tracking_number=tracking.get("number") or "",
        tracking_url=tracking.get("url"),
        shipped_at=when(raw.get("inTransitAt")) or when(raw["createdAt"]),  # type: ignore[arg-type]
        estimated_delivery=when(raw.get("estimatedDeliveryAt")),
        delivered_at=delivered_at,
        status=status or "in_transit",
        line_item_ids=list(
            dict.fromkeys(n["lineItem"]["id"] for n in raw["fulfillmentLineItems"]["nodes"])
        ),
        events=sorted(events, key=lambda e: e.at),
    )


def returned_quantities(raw_order: Json) -> dict[str, int]:
    """Line item id -> units in returns that are open, requested or done."""
    counts: dict[str, int] = {}
    for ret in raw_order.get("returns", {}).get("nodes", []):
        if ret.get("status") not in _LIVE_RETURNS:
            continue
        for line in ret["returnLineItems"]["nodes"]:
            fli = line.get("fulfillmentLineItem")
            if fli:
                li_id = fli["lineItem"]["id"]
                counts[li_id] = counts.get(li_id, 0) + int(line["quantity"])
    return counts


def _status(raw: Json, shipments: list[Shipment]) -> OrderStatus:
    if raw.get("cancelledAt"):
        return OrderStatus.CANCELLED
    financial = raw.get("displayFinancialStatus") or ""
    fulfillment = raw.get("displayFulfillmentStatus") or ""
    if financial == "REFUNDED" and shipments:
        return OrderStatus.RETURNED
    if financial == "PARTIALLY_REFUNDED" and shipments:
        return OrderStatus.PARTIALLY_REFUNDED
    if fulfillment == "PARTIALLY_FULFILLED":
        return OrderStatus.PARTIALLY_SHIPPED
    if fulfillment == "FULFILLED" or shipments:
        delivered = shipments and all(s.delivered_at for s in shipments)
        return OrderStatus.DELIVERED if delivered else OrderStatus.SHIPPED
    if financial in ("PENDING", "EXPIRED"):
        return OrderStatus.PENDING_PAYMENT
    return OrderStatus.PAID


def _line_item(raw: Json, returned: dict[str, int]) -> LineItem:
    product = raw.get("product") or {}
    tags = {t.lower() for t in product.get("tags") or []}
    quantity = int(raw["quantity"])
    refundable = raw.get("refundableQuantity")
    return LineItem(
        id=raw["id"],
        product_id=product.get("id") or "",
        sku=raw.get("sku") or "",
        name=raw.get("title") or "",
        variant_title=raw.get("variantTitle") or "",
        category=(product.get("productType") or "").lower(),
        quantity=quantity,
        unit_price=money(raw.get("discountedUnitPriceSet")),
        final_sale=bool(tags & _FINAL_SALE_TAGS),
        returned_quantity=min(quantity, returned.get(raw["id"], 0)),
        refunded_quantity=max(0, quantity - int(refundable)) if refundable is not None else 0,
    )


_GATEWAYS = {"paypal": "PayPal", "shopify_payments": "Card", "gift_card": "Gift card",
             "shop_pay": "Shop Pay", "manual": "Manual payment", "cash": "Cash"}  # fmt: skip
_PAID = {"SALE", "AUTHORIZATION", "CAPTURE"}


def payment_method(raw: Json) -> str | None:
    """How the order was paid, masked: "Visa •••• 4242", "PayPal". Only the last four digits of
    a card ever leave this function, whatever Shopify sends."""
    for tx in raw.get("transactions") or []:
        if tx.get("kind") not in _PAID or tx.get("status") not in (None, "SUCCESS"):
            continue
        card = tx.get("paymentDetails") or {}
        digits = re.sub(r"\D", "", card.get("number") or "")
        if card.get("company") or digits:
            last4 = f" •••• {digits[-4:]}" if len(digits) >= 4 else ""
            return f"{card.get('company') or 'Card'}{last4}"
        if tx.get("gateway"):
            return _GATEWAYS.get(tx["gateway"], tx["gateway"].replace("_", " ").title())
    names = raw.get("paymentGatewayNames") or []
    return _GATEWAYS.get(names[0], names[0].replace("_", " ").title()) if names else None


def order(raw: Json) -> Order:
    shipments = [_shipment(f) for f in raw.get("fulfillments") or []]
    returned = returned_quantities(raw)
    shipping = address(raw.get("shippingAddress"))
    cancel_reason = raw.get("cancelReason")
    return Order(
        id=raw["id"],
        number=raw["name"],
        customer_id=(raw.get("customer") or {}).get("id") or "",
        email=(raw.get("email") or "").lower(),
        created_at=when(raw["createdAt"]),  # type: ignore[arg-type]
        status=_status(raw, shipments),
        currency=raw.get("currencyCode") or "USD",
        subtotal=money(raw.get("subtotalPriceSet")),
        shipping_cost=money(raw.get("totalShippingPriceSet")),
        tax=money(raw.get("totalTaxSet")),
        total=money(raw.get("totalPriceSet")),
        refunded_amount=money(raw.get("totalRefundedSet")),
        # after an edit that cost more: the balance Shopify's invoice (notifyCustomer) collects
        amount_due=money(raw.get("totalOutstandingSet")),
        payment_method=payment_method(raw),
        # Digital-only orders have no shipping address; the model needs one.
        shipping_address=shipping
        or Address(name="", line1="", city="", postal_code="", country=""),
        line_items=[_line_item(li, returned) for li in raw["lineItems"]["nodes"]],
        shipments=shipments,
        cancelled_at=when(raw.get("cancelledAt")),
        cancel_reason=cancel_reason.lower() if cancel_reason else None,
    )


def customer(raw: Json) -> Customer:
    return Customer(
        id=raw["id"],
        email=((raw.get("defaultEmailAddress") or {}).get("emailAddress") or "").lower(),
        first_name=raw.get("firstName") or "",
        last_name=raw.get("lastName") or "",
        phone=(raw.get("defaultPhoneNumber") or {}).get("phoneNumber"),
        tags=list(raw.get("tags") or []),
        created_at=when(raw["createdAt"]),  # type: ignore[arg-type]
        default_address=address(raw.get("defaultAddress")),
    )


# Shopify gives a product without options one option "Title" whose one value is "Default Title"
_NO_OPTIONS = {("Title", "Default Title")}


def _selected(raw_variant: Json) -> dict[str, str]:
    picked = {o["name"]: o["value"] for o in raw_variant.get("selectedOptions") or []}
    return {} if set(picked.items()) <= _NO_OPTIONS else picked


def product(raw: Json) -> Product:
    tags = {t.lower() for t in raw.get("tags") or []}
    options = [
        ProductOption(name=o["name"], values=list(o.get("values") or []))
        for o in raw.get("options") or []
        if {(o["name"], v) for v in o.get("values") or []} - _NO_OPTIONS
    ]
    return Product(
        id=raw["id"],
        title=raw["title"],
        category=(raw.get("productType") or "").lower(),
        description=raw.get("description") or "",
        final_sale=bool(tags & _FINAL_SALE_TAGS),
        options=options,
        variants=[
            Variant(
                sku=v.get("sku") or "",
                title=v.get("title") or "",
                price=Decimal(str(v.get("price") or "0")),
                stock=int(v.get("inventoryQuantity") or 0),
                options=_selected(v),
                inventory_policy=InventoryPolicy.CONTINUE
                if v.get("inventoryPolicy") == "CONTINUE"
                else InventoryPolicy.DENY,
            )
            for v in raw["variants"]["nodes"]
        ],
    )


def return_note(
    *,
    marker: str,
    reason: str,
    resolution: Resolution,
    refund: Decimal,
    fee: Decimal,
    exchange_sku: str | None,
) -> str:
    reason_token = re.sub(r"\s+", "_", reason.strip())[:60] or "other"
    note = (
        f"support-agent {marker} {reason_token} {resolution.value} "
        f"refund={refund:.2f} fee={fee:.2f}"
    )
    return note + (f" exchange={exchange_sku}" if exchange_sku else "")


def return_record(
    raw: Json,
    parent: Order,
    *,
    instructions: Callable[[str, Resolution], str],
    idempotency_key: str = "",
) -> ReturnRecord:
    """A Shopify Return as our ReturnRecord. Returns support-agent opened carry their reason,
    resolution and amounts in the line note; others get Shopify's reason and the items' value.
    `instructions(rma, resolution)` writes the customer's next steps."""
    lines: dict[str, int] = {}
    note = None
    for line in raw.get("returnLineItems", {}).get("nodes", []):
        fli = line.get("fulfillmentLineItem")
        if fli:
            li_id = fli["lineItem"]["id"]
            lines[li_id] = lines.get(li_id, 0) + int(line["quantity"])
        note = note or _NOTE.search(line.get("returnReasonNote") or "")
    prices = {li.id: li.unit_price for li in parent.line_items}
    value = sum((prices.get(i, Decimal(0)) * q for i, q in lines.items()), Decimal("0.00"))
    first_reason: Json = next(iter(raw.get("returnLineItems", {}).get("nodes", [])), {})
    exchange = note.group("exchange") if note else None
    resolution = Resolution(note.group("resolution")) if note else Resolution.REFUND
    return ReturnRecord(
        id=raw["id"],
        rma=raw["name"],
        order_number=parent.number,
        customer_id=parent.customer_id,
        lines=[
            ReturnLine(line_item_id=i, quantity=q, exchange_sku=exchange) for i, q in lines.items()
        ],
        reason=note.group("reason")
        if note
        else (first_reason.get("returnReason") or "other").lower(),
        resolution=resolution,
        refund_amount=Decimal(note.group("refund")) if note else value,
        restocking_fee=Decimal(note.group("fee")) if note else Decimal("0.00"),
        status=(raw.get("status") or "open").lower(),
        instructions=instructions(raw["name"], resolution),
        created_at=when(raw.get("createdAt")) or parent.created_at,
        idempotency_key=idempotency_key,
    )


def return_marker(raw: Json) -> str | None:
    for line in raw.get("returnLineItems", {}).get("nodes", []):
        found = _NOTE.search(line.get("returnReasonNote") or "")
        if found:
            return found.group("marker")
    return None
