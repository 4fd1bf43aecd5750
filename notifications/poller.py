"""The store poller: for backends without webhooks (the demo store) and as a safety net, each
pass compares the orders it looks at with what it saw last time (events.py) and records the
news.

Which orders a pass looks at, at most twice `limit` of them:

- the newest `limit` orders of the store: a new order shows up there first;
- a turn of the watched orders that can still change and were not among those: not settled
  (something to ship, or a parcel on its way) or settled less than `SETTLED_WATCH` ago (a
  refund after a return), `limit` at a time from where the last pass stopped, so that every
  such order is looked at again within a few passes, however many newer orders came since;
- on the first pass, the newest `limit` orders of each in-flight status too, so orders already
  on their way when watching starts are watched.

The backend offers no paging: an order the first pass cannot reach that way is not watched.

What happened before the poller started watching (`notification_sources.since`) is history:
on its first pass every order is remembered as it is and nothing is announced. An order without
a snapshot that was already there at the previous pass (its snapshot and notices were deleted
by retention or a privacy erasure) is remembered again the same way: forgotten news is not
told twice. What time makes (no scan for days, an estimate passed) is news once, between the
order's previous look and this one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.backend import StoreBackend
from commerce.models import Order
from notifications.events import IN_FLIGHT, OrderEvent, changes, record, snapshot, stamp
from notifications.rules import Rules
from storage.tables import utcnow
from storage.tables_helpdesk import as_utc
from storage.tables_notify import NotificationSource, OrderWatch

# a settled order (delivered, cancelled) is still looked at this long: a return's refund
SETTLED_WATCH = timedelta(days=60)
SEEN = "seen"  # the snapshot's key for when the order was last looked at


class Poller:
    """One pass over the orders that can still make news: events recorded, snapshots kept."""

    def __init__(self, store: StoreBackend, rules: Rules, *, limit: int = 250) -> None:
        self._store = store
        self._rules = rules
        self._limit = limit
        self._after = ""  # the turn's cursor: the last watched order number looked at

    @property
    def source(self) -> str:
        return f"poll:{self._store.name}"

    async def since(self, session: AsyncSession, now: datetime) -> tuple[datetime, bool]:
        """When this source started watching; (now, True) the first time."""
        row = await session.get(NotificationSource, self.source)
        if row is not None:
            return as_utc(row.since), False
        session.add(NotificationSource(name=self.source, since=now, polled_at=now))
        await session.flush()
        return now, True

    async def _last_pass(self, session: AsyncSession, since: datetime, now: datetime) -> datetime:
        """The previous pass's time (`since` when none is recorded); records this one."""
        row = await session.get(NotificationSource, self.source)
        assert row is not None
        last = as_utc(row.polled_at) if row.polled_at is not None else since
        row.polled_at = now
        return last

    async def poll(self, session: AsyncSession, *, now: datetime | None = None) -> int:
        """Inside the caller's transaction. Returns how many new events were recorded."""
        now = now or utcnow()
        since, first = await self.since(session, now)
        last_pass = await self._last_pass(session, since, now)
        orders = await self._orders(session, now, first=first)
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
                if row is not None or order.created_at >= last_pass:
                    # what time makes happens once, between this order's last look and now
                    looked = _seen(known, last_pass)
                    events += changes(order, known, since=looked, now=now, rules=self._rules)
            state = snapshot(order)
            if row is None:
                state[SEEN] = stamp(now)
                session.add(OrderWatch(order_number=order.number, state=state, updated_at=now))
                continue
            if _facts(row.state) != state:  # updated_at: when the order last changed
                row.updated_at = now
            row.state = {**state, SEEN: stamp(now)}
        await session.flush()
        return await record(session, events, now=now)

    async def _orders(self, session: AsyncSession, now: datetime, *, first: bool) -> list[Order]:
        found = {o.number: o for o in await self._store.list_orders(limit=self._limit)}
        if first:
            for status in IN_FLIGHT:
                for order in await self._store.list_orders(status=status, limit=self._limit):
                    found.setdefault(order.number, order)
        for number in await self._turn(session, set(found), now):
            order = await self._store.find_order(number)
            if order is not None:
                found[number] = order
        return list(found.values())

    async def _turn(self, session: AsyncSession, skip: set[str], now: datetime) -> list[str]:
        """Up to `limit` watched orders that can still change, other than `skip`, in order
        number order from after the last one looked at, round to the start."""
        settled = OrderWatch.state["settled"].as_string()
        base = (
            select(OrderWatch.order_number)
            .where(
                or_(settled.is_(None), settled >= stamp(now - SETTLED_WATCH)),
                OrderWatch.order_number.not_in(sorted(skip)),
            )
            .order_by(OrderWatch.order_number)
        )
        number = OrderWatch.order_number
        picked = list(await session.scalars(base.where(number > self._after).limit(self._limit)))
        if len(picked) < self._limit and self._after:
            rest = base.where(number <= self._after).limit(self._limit - len(picked))
            picked += await session.scalars(rest)
        if picked:
            self._after = picked[-1]
        return picked


def _facts(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k != SEEN}


def _seen(state: dict[str, Any] | None, default: datetime) -> datetime:
    value = (state or {}).get(SEEN)
    return datetime.fromisoformat(value) if isinstance(value, str) else default
