"""Whether a due notification is told now, later or never: the checks the runner makes on one
row, in the transaction that would send it (runner.py draws the order they come in).

Each check that stops the row leaves it skipped (with the reason) or moved later (`not_before`,
with the reason), and says so as an `Outcome`; `decide` returns None when the row may go now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.models import Order
from notifications.news import PER_SHIPMENT, resolve, shipment_of, shown
from notifications.optout import email_hash, is_opted_out
from notifications.rules import PROBLEMS, STAGES, Rules
from settings import Settings
from storage.tables_helpdesk import as_utc
from storage.tables_notify import Notification, NotificationStatus

if TYPE_CHECKING:
    from notifications.sending import Sent

# a parcel's news the store does not show yet: asked again this often, given up after this long
AWAIT_STORE_RETRY = timedelta(minutes=5)
AWAIT_STORE_FOR = timedelta(days=2)


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | skipped | deferred
    reason: str = ""
    sent: Sent | None = None


def skip(row: Notification, reason: str) -> Outcome:
    row.status, row.reason = NotificationStatus.SKIPPED, reason
    return Outcome("skipped", reason)


def defer(row: Notification, until: datetime, reason: str) -> Outcome:
    row.not_before, row.reason = until, reason
    return Outcome("deferred", reason)


async def decide(
    session: AsyncSession,
    row: Notification,
    order: Order,
    *,
    rules: Rules,
    settings: Settings,
    tz: ZoneInfo,
    now: datetime,
) -> Outcome | None:
    """The checks after the rule and the order were found; None: tell it now. Sets the row's
    address digest (the opt-out key) on the way."""
    if await complete(session, row, order):
        return skip(row, "duplicate")
    if row.event in PER_SHIPMENT and not shown(order, row.news or ""):
        return await_store(row, now)
    if await superseded(session, row, order, rules):
        return skip(row, "superseded")
    if not order.email:
        return skip(row, "no_address")
    row.email_hash = email_hash(order.email, settings)
    if await is_opted_out(session, row.email_hash):
        return skip(row, "opted_out")
    wait = rules.next_allowed(now, tz)
    if wait is not None:
        return defer(row, wait, "quiet_hours")
    if row.event not in rules.daily_cap_exempt:
        today = await session.scalar(
            select(func.count()).where(
                Notification.order_number == row.order_number,
                Notification.status == NotificationStatus.SENT,
                Notification.sent_at >= rules.day_start(now, tz),
            )
        )
        if int(today or 0) >= rules.max_per_order_per_day:
            return defer(row, rules.next_day(now, tz), "daily_cap")
    return None


def await_store(row: Notification, now: datetime) -> Outcome:
    """Asked again a little later, so that once the store shows the shipment the row is keyed
    by it and meets the poller's row for the same parcel; not kept forever."""
    if now - as_utc(row.created_at) >= AWAIT_STORE_FOR:
        return skip(row, "not_in_store")
    return defer(row, now + AWAIT_STORE_RETRY, "awaiting_store")


async def complete(session: AsyncSession, row: Notification, order: Order) -> bool:
    """Completes the row's news from the store (which shipment, which new date); True when that
    news is already another row (a webhook and a poll told it both)."""
    news = resolve(order, row.event, row.news or "")
    if news == (row.news or ""):
        return False
    known = await session.scalar(
        select(Notification.id).where(
            Notification.order_number == row.order_number,
            Notification.event == row.event,
            Notification.news == news,
            Notification.id != row.id,
        )
    )
    if known is not None:
        return True
    row.news = news
    await session.flush()
    return False


async def superseded(session: AsyncSession, row: Notification, order: Order, rules: Rules) -> bool:
    """A stage a later one of the same shipment already passed, or a problem of a parcel that
    is delivered. Another shipment's news supersedes nothing."""
    shipment = shipment_of(row.news or "")
    found = await session.execute(
        select(Notification.event, Notification.news).where(
            Notification.order_number == row.order_number,
            Notification.id != row.id,
            Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.SENT)),
        )
    )
    others: set[str] = set()
    for event, told in found.all():
        news = resolve(order, event, told or "")
        if event in PER_SHIPMENT and not shown(order, news):
            continue  # news of a parcel the store does not show yet is not known news
        if not shipment or shipment_of(news) == shipment:
            others.add(event)
    # only news that is itself told counts (a scan on the way, off by default, does not)
    others = {e for e in others if (r := rules.rule(e)) is not None and r.notify}
    rank = STAGES.get(row.event)
    if rank is not None and any(STAGES.get(e, 0) > rank for e in others):
        return True
    if row.event in PROBLEMS:
        mine = [s for s in order.shipments if not shipment or s.id == shipment]
        delivered = bool(mine) and all(s.status == "delivered" for s in mine)
        return delivered or "delivered" in others
    return False
