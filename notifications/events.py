"""Order events, from any source, recorded once per (order, event).

Two sources feed the same table: Shopify webhooks (shopify.py) and a poller that compares each
watched order with what it saw last time, for backends without webhooks (the demo store, or a
shop whose webhooks are not set up). Both call `record`, whose insert ignores an (order, event,
news) already present (news.py: which shipment, which new date): a duplicate webhook, a webhook
and a poll telling the same news, a retry after a crash - one row, so one notice; a second
parcel or a second delay is another row.

The poller itself (which orders it looks at, what it treats as history) is poller.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.models import Order, OrderStatus
from helpdesk.outbox import _insert
from notifications.news import shipment_key
from notifications.rules import EVENTS, Rules
from storage.tables_notify import Notification, NotificationStatus

SCAN_EVENTS = {"in_transit", "out_for_delivery", "delivered", "exception"}


@dataclass(frozen=True)
class OrderEvent:
    order_number: str
    event: str
    occurred_at: datetime
    source: str  # shopify | poll
    news: str = ""  # news.py


async def record(session: AsyncSession, events: Sequence[OrderEvent], *, now: datetime) -> int:
    """Inside the caller's transaction. Returns how many were new."""
    added = 0
    for item in events:
        if item.event not in EVENTS:
            continue
        result = await session.execute(
            _insert(session)(Notification)
            .values(
                order_number=item.order_number,
                event=item.event,
                news=item.news[:120],
                source=item.source,
                occurred_at=item.occurred_at,
                status=NotificationStatus.PENDING,
                reason="",
                not_before=now,
                channels=[],
                offered_person=False,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["order_number", "event", "news"])
        )
        added += int(getattr(result, "rowcount", 0) == 1)
    return added


# an order in one of these can still ship or move; after them, only a refund (or a late scan)
IN_FLIGHT = (
    OrderStatus.PENDING_PAYMENT,
    OrderStatus.PAID,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
)


def stamp(value: datetime | None) -> str | None:
    """A UTC ISO time that sorts as text (the poller compares these inside the database)."""
    if value is None:
        return None
    utc = value if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.astimezone(UTC).isoformat(timespec="seconds")


def settled_at(order: Order) -> datetime | None:
    """When the order stopped moving: cancelled, or everything delivered (its last scan); None
    while something can still ship or is on its way."""
    if order.cancelled_at is not None:
        return order.cancelled_at
    if order.status in IN_FLIGHT or any(s.status != "delivered" for s in order.shipments):
        return None
    times = [order.created_at, *(s.delivered_at or s.shipped_at for s in order.shipments)]
    return max([*times, *(e.at for s in order.shipments for e in s.events)])


def snapshot(order: Order) -> dict[str, Any]:
    """What the poller remembers of an order."""
    return {
        "shipments": {
            s.id: {
                "scans": len(s.events),
                "eta": s.estimated_delivery.isoformat() if s.estimated_delivery else None,
            }
            for s in order.shipments
        },
        "refunded": str(order.refunded_amount),
        "settled": stamp(settled_at(order)),
    }


def changes(
    order: Order,
    seen: dict[str, Any] | None,
    *,
    since: datetime,
    now: datetime,
    rules: Rules,
) -> list[OrderEvent]:
    """The events between what was seen (None: nothing, the order is new) and the order now,
    plus the ones time makes (no scan for N days, the estimate passed) once they happen after
    `since`."""
    seen = seen or {"shipments": {}, "refunded": "0"}
    found: list[OrderEvent] = []

    def add(event: str, at: datetime, news: str) -> None:
        found.append(OrderEvent(order.number, event, at, "poll", news))

    for shipment in order.shipments:
        sid = shipment.id
        before = seen["shipments"].get(sid)
        if before is None:
            add("shipped", shipment.shipped_at, sid)
        for scan in shipment.events[before["scans"] if before else 0 :]:
            if scan.status in SCAN_EVENTS:
                add(scan.status, scan.at, sid)
        eta = shipment.estimated_delivery
        if before and before.get("eta") and eta is not None:
            if eta > datetime.fromisoformat(before["eta"]):
                add("delayed", now, shipment_key(sid, eta))  # each new date is news once
        if shipment.status == "delivered":
            continue
        last = shipment.events[-1].at if shipment.events else shipment.shipped_at
        quiet_since = last + timedelta(days=rules.no_scan_days)
        if since <= quiet_since <= now:
            add("no_scan", quiet_since, f"{sid}@{last.isoformat()}")
        if eta is not None and since <= eta <= now:
            add("eta_passed", eta, shipment_key(sid, eta))
    refunded = str(order.refunded_amount)
    if order.refunded_amount > 0 and refunded != seen.get("refunded"):
        add("refunded", now, refunded)
    return found
