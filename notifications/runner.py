"""One pass of notifications: poll the store for events, then turn each due (order, event) row into
exactly one notice, or skip it with a reason, or move it later.

For each due row, in one transaction:

    rule off ─► skipped(rule_off)        order gone ─► skipped(order_not_found)
    a webhook's news completed from the store (news.py) is news already recorded
             ─► skipped(duplicate)
    a parcel's news whose shipment the store does not show yet (a webhook ahead of the store)
             ─► not_before = a few minutes later (awaiting_store); after two days
             ─► skipped(not_in_store)
    a later stage known (delivered before in_transit), or a problem after delivery
             ─► skipped(superseded)
    the order's address opted out ─► skipped(opted_out)         (checked in the same transaction)
    quiet hours in SUPPORT_BUSINESS_TIMEZONE ─► not_before = their end   (deferred, never dropped)
    a notice for this order already today (exceptions exempt) ─► not_before = tomorrow
    otherwise: pending -> sent (compare-and-set, so two runners never both send), the message in
    the order's conversation (bound to the order's customer), the email and SMS outbox rows

The checks are checks.py; telling the notice (the conversation, the outbox rows) is sending.py."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.backend import StoreBackend
from commerce.policy import load_policy
from notifications.checks import Outcome, decide, skip
from notifications.poller import Poller
from notifications.rules import Rules, load_rules
from notifications.sending import Sent, Telling, send
from settings import Settings
from storage.tables import utcnow
from storage.tables_notify import Notification, NotificationStatus

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    recorded: int = 0  # new events
    sent: list[Sent] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    deferred: dict[str, int] = field(default_factory=dict)


class NotificationRunner:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: StoreBackend,
        settings: Settings,
        rules: Rules | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_queued: Callable[[], None] | None = None,
        bus: Any = None,
        batch_size: int = 100,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._settings = settings
        self.rules = rules or load_rules(settings.notify_rules_path)
        self._clock = clock
        self._on_queued = on_queued  # wakes the outbox worker after a commit
        self._bus = bus
        self._batch = batch_size
        self._tz = ZoneInfo(settings.business_timezone)
        self.poller = Poller(store, self.rules, limit=settings.notify_poll_orders)
        try:
            self._return_days: int | None = load_policy(settings.policy_path).returns.window_days
        except Exception:  # a notice without the return window is still a notice
            self._return_days = None

    # ---- the pass -----------------------------------------------------------------------------

    async def run_once(self, *, dry_run: bool = False, poll: bool = True) -> RunReport:
        """Poll, then handle every due row. A dry run does it all in one transaction that is
        rolled back: nothing is written, nothing queued, nobody told."""
        now = self._clock()
        report = RunReport()
        if dry_run:
            async with self._sessions() as session:
                try:
                    if poll:
                        report.recorded = await self.poller.poll(session, now=now)
                    await self._handle_due(report, now, shared=session)
                finally:
                    await session.rollback()
            return report
        if poll:
            async with self._sessions.begin() as session:
                report.recorded = await self.poller.poll(session, now=now)
        await self._handle_due(report, now, shared=None)
        if report.sent and self._on_queued is not None:
            self._on_queued()
        for sent in report.sent:
            if sent.widget_message is not None and self._bus is not None:
                from console.notify import push_message

                await push_message(self._bus, sent.widget_message)
        return report

    async def run_forever(self, stop: Any) -> None:
        """The worker `serve` runs under the `notifications` lease."""
        import asyncio

        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # the store or the database blinked: try again next pass
                log.exception("notification pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._settings.notify_poll_s)

    @contextlib.asynccontextmanager
    async def _unit(self, shared: AsyncSession | None) -> AsyncIterator[AsyncSession]:
        if shared is not None:
            yield shared
            return
        async with self._sessions.begin() as session:
            yield session

    async def _handle_due(
        self, report: RunReport, now: datetime, *, shared: AsyncSession | None
    ) -> None:
        async with self._unit(shared) as session:
            ids = list(
                await session.scalars(
                    select(Notification.id)
                    .where(
                        Notification.status == NotificationStatus.PENDING,
                        Notification.not_before <= now,
                    )
                    .order_by(Notification.occurred_at, Notification.id)
                    .limit(self._batch)
                )
            )
        for notification_id in ids:
            async with self._unit(shared) as session:
                outcome = await self._handle(session, notification_id, now)
            if outcome is None:
                continue
            if outcome.kind == "sent" and outcome.sent is not None:
                report.sent.append(outcome.sent)
            elif outcome.kind == "skipped":
                report.skipped[outcome.reason] = report.skipped.get(outcome.reason, 0) + 1
            else:
                report.deferred[outcome.reason] = report.deferred.get(outcome.reason, 0) + 1

    # ---- one row --------------------------------------------------------------------------------

    async def _handle(
        self, session: AsyncSession, notification_id: int, now: datetime
    ) -> Outcome | None:
        row = await session.get(Notification, notification_id, populate_existing=True)
        if row is None or row.status != NotificationStatus.PENDING:
            return None
        rule = self.rules.rule(row.event)
        if rule is None or not rule.notify:
            return skip(row, "rule_off")
        order = await self._store.find_order(row.order_number)
        if order is None:
            return skip(row, "order_not_found")
        held = await decide(
            session, row, order, rules=self.rules, settings=self._settings, tz=self._tz, now=now
        )
        if held is not None:
            return held
        telling = Telling(
            settings=self._settings,
            store=self._store,
            rules=self.rules,
            tz=self._tz,
            return_days=self._return_days,
            clock=self._clock,
        )
        return await send(session, row, order, rule, now, telling)
