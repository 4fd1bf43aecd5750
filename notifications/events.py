"""Order events, from any source, recorded once per (order, event).

Two sources feed the same table: Shopify webhooks (shopify.py) and a poller that compares each
watched order with what it saw last time, for backends without webhooks (the demo store, or a
shop whose webhooks are not set up). Both call `record`, whose insert ignores an (order, event,
news) already present (news.py: which shipment, which new date): a duplicate webhook, a webhook
and a poll telling the same news, a retry after a crash - one row, so one notice; a second
parcel or a second delay is another row.

The poller treats what happened before it started watching (`notification_sources.since`) as
history: on its first pass every order is remembered as it is and nothing is announced. An order
without a snapshot that was already there at the previous pass (its snapshot and notices were
deleted by retention or a privacy erasure) is remembered again the same way: forgotten news is
not told twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.backend import StoreBackend
from commerce.models import Order
from helpdesk.outbox import _insert
from notifications.news import shipment_key
from notifications.rules import EVENTS, Rules
from storage.tables import utcnow
from storage.tables_notify import (
    Notification,
    NotificationSource,
    NotificationStatus,
    OrderWatch,
)

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


# ---- polling ---------------------------------------------------------------------------------


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


class Poller:
    """One pass over the newest orders of the store: events recorded, snapshots kept."""

    def __init__(self, store: StoreBackend, rules: Rules, *, limit: int = 250) -> None:
        self._store = store
        self._rules = rules
        self._limit = limit

    @property
    def source(self) -> str:
        return f"poll:{self._store.name}"

    async def since(self, session: AsyncSession, now: datetime) -> tuple[datetime, bool]:
        """When this source started watching; (now, True) the first time."""
        row = await session.get(NotificationSource, self.source)
        if row is not None:
            return aware(row.since, now), False
        session.add(NotificationSource(name=self.source, since=now, polled_at=now))
        await session.flush()
        return now, True

    async def _last_pass(self, session: AsyncSession, since: datetime, now: datetime) -> datetime:
        """The previous pass's time (`since` when none is recorded); records this one."""
        row = await session.get(NotificationSource, self.source)
        assert row is not None
        last = aware(row.polled_at, now) if row.polled_at is not None else since
        row.polled_at = now
        return last

    async def poll(self, session: AsyncSession, *, now: datetime | None = None) -> int:
        """Inside the caller's transaction. Returns how many new events were recorded."""
        now = now or utcnow()
        since, first = await self.since(session, now)
        last_pass = await self._last_pass(session, since, now)
        orders = await self._store.list_orders(limit=self._limit)
        numbers = [o.number for o in orders]
        rows = (
            await session.scalars(select(OrderWatch).where(OrderWatch.order_number.in_(numbers)))
        ).all()
        watched = {row.order_number: row for row in rows}
        events: list[OrderEvent] = []
        for order in orders:
            row = watched.get(order.number)
            if not first:
                # an order first seen now is news only if it was placed since the last pass
                known = row.state if row is not None else None
                if row is not None or _created_at(order) >= last_pass:
                    # what time makes (no scan, estimate passed) happens once, between passes
                    events += changes(order, known, since=last_pass, now=now, rules=self._rules)
            state = snapshot(order)
            if row is None:
                session.add(OrderWatch(order_number=order.number, state=state, updated_at=now))
            elif row.state != state:
                row.state, row.updated_at = state, now
        await session.flush()
        return await record(session, events, now=now)


def _created_at(order: Order) -> datetime:
    return order.created_at


def aware(value: datetime, like: datetime) -> datetime:
    """`value` with `like`'s time zone when the database gave it none (SQLite)."""
    return value if value.tzinfo else value.replace(tzinfo=like.tzinfo)
