"""Shopify order and fulfillment webhooks as order events.

Shopify signs each delivery with the app's webhook secret: `X-Shopify-Hmac-Sha256` is the
base64 HMAC-SHA256 of the raw body. A delivery is retried (up to 48 hours) until we answer 2xx,
each retry with the same `X-Shopify-Webhook-Id`: that id is recorded with the events in one
transaction, so a retry changes nothing, and the (order, event) key catches the same news sent
twice under different ids. Order of arrival does not matter: the runner drops a stage that a
later one already passed (a `delivered` before its `in_transit`).

Only the order number, the kind of news and the fulfillment's id (which shipment: the Shopify
adapter's shipment ids are the fulfillments' GraphQL ids) are taken from the payload; every fact
a notice states is read again from the store backend when it is sent, and what the payload did
not say (which shipment, the new estimate) is completed from it then (news.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from helpdesk.outbox import _insert
from notifications.events import OrderEvent, record
from storage.tables_notify import ShopifyDelivery

# fulfillment.shipment_status (and fulfillment_event.status) -> our event
_SHIPMENT_STATUS = {
    "in_transit": "in_transit",
    "out_for_delivery": "out_for_delivery",
    "delivered": "delivered",
    "failure": "exception",
    "attempted_delivery": "exception",
    "delayed": "delayed",
}


class ShopifyRejected(Exception):
    """The delivery is not from Shopify (bad or missing signature)."""


@dataclass(frozen=True)
class Handled:
    duplicate: bool
    events: list[OrderEvent]
    recorded: int


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    given = _header(headers, "X-Shopify-Hmac-Sha256") or ""
    if not secret:
        raise ShopifyRejected("no webhook secret configured")
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, given.strip().encode()):
        raise ShopifyRejected("bad signature")


def _order_number(payload: dict[str, Any]) -> str | None:
    """Orders carry `name` ("#1043"); fulfillments `name` too ("#1043.1") and the order's."""
    name = payload.get("order_name") or payload.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    return name.strip().rsplit(".", 1)[0] if "." in name else name.strip()


GID = "gid://shopify/Fulfillment/"


def _fulfillment_id(payload: dict[str, Any], *, key: str = "id") -> str:
    """The fulfillment's GraphQL id, as the Shopify adapter names shipments ("" if unknown)."""
    gid = payload.get("admin_graphql_api_id") if key == "id" else None
    if isinstance(gid, str) and gid.startswith(GID):
        return gid
    raw = payload.get(key)
    return f"{GID}{raw}" if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()) else ""


def events_from(topic: str, payload: dict[str, Any], *, now: datetime) -> list[OrderEvent]:
    number = _order_number(payload)
    if number is None:
        return []

    def one(event: str, news: str = "") -> list[OrderEvent]:
        return [OrderEvent(number, event, now, "shopify", news)]

    if topic == "orders/fulfilled":
        fulfillments = [f for f in payload.get("fulfillments") or [] if isinstance(f, dict)]
        return [e for f in fulfillments for e in one("shipped", _fulfillment_id(f))] or one(
            "shipped"
        )
    if topic == "fulfillments/create":
        shipment = _fulfillment_id(payload)
        status = _SHIPMENT_STATUS.get(str(payload.get("shipment_status") or ""))
        return one("shipped", shipment) + (one(status, shipment) if status else [])
    if topic in ("fulfillments/update", "fulfillment_events/create"):
        status = payload.get("shipment_status") or payload.get("status")
        event = _SHIPMENT_STATUS.get(str(status or ""))
        key = "id" if topic == "fulfillments/update" else "fulfillment_id"
        return one(event, _fulfillment_id(payload, key=key)) if event else []
    if topic in ("orders/updated", "refunds/create"):
        if str(payload.get("financial_status") or "") in ("refunded", "partially_refunded"):
            return one("refunded")
    return []


async def handle(
    session: AsyncSession,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    now: datetime,
) -> Handled:
    """Inside the caller's transaction: verify, dedup on the delivery id, record the events.
    Raises ShopifyRejected (nothing written) when the signature does not match."""
    verify(headers, body, secret)
    topic = (_header(headers, "X-Shopify-Topic") or "").strip()
    webhook_id = (_header(headers, "X-Shopify-Webhook-Id") or "").strip()
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return Handled(False, [], 0)
    if webhook_id:
        result = await session.execute(
            _insert(session)(ShopifyDelivery)
            .values(webhook_id=webhook_id[:100], topic=topic[:60], received_at=now)
            .on_conflict_do_nothing(index_elements=["webhook_id"])
        )
        if getattr(result, "rowcount", 0) != 1:
            return Handled(True, [], 0)
    events = events_from(topic, payload, now=now)
    return Handled(False, events, await record(session, events, now=now))
