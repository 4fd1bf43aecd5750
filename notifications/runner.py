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

The conversation is the customer's open chat when they have one (the message reaches the widget
through console/notify.py), else the one earlier notices of this order used, else a new email
conversation. It is bound to the order's customer and remembers the order, so a reply (by mail
from the order's address, threaded on our Message-ID, or in the chat) continues about it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.backend import StoreBackend
from commerce.models import Order
from commerce.policy import load_policy
from notifications.delivery import enqueue_email, enqueue_sms
from notifications.events import Poller, aware
from notifications.news import PER_SHIPMENT, resolve, shipment_of, shown
from notifications.optout import email_hash, is_opted_out, optout_url
from notifications.rules import PROBLEMS, STAGES, EventRule, Rules, load_rules
from notifications.texts import render
from settings import Settings
from storage import repo
from storage.tables import Conversation, Owner, utcnow
from storage.tables_notify import Notification, NotificationStatus

log = logging.getLogger(__name__)

OPEN_CHAT = timedelta(hours=24)  # a chat touched this recently counts as open
# a parcel's news the store does not show yet: asked again this often, given up after this long
AWAIT_STORE_RETRY = timedelta(minutes=5)
AWAIT_STORE_FOR = timedelta(days=2)
CHAT_CHANNEL = "web"


@dataclass(frozen=True)
class Sent:
    """One notice sent (or, in a dry run, that would be): a line of `notify run --json`."""

    order: str
    event: str
    channels: list[str]
    email: str
    template: str
    conversation_id: str
    text: str = ""
    widget_message: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "event": self.event,
            "channel": ",".join(self.channels),
            "email": self.email,
            "template": self.template,
            "conversation_id": self.conversation_id,
        }


@dataclass
class RunReport:
    recorded: int = 0  # new events
    sent: list[Sent] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    deferred: dict[str, int] = field(default_factory=dict)


class _Outcome:
    def __init__(self, kind: str, reason: str = "", sent: Sent | None = None) -> None:
        self.kind, self.reason, self.sent = kind, reason, sent


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
    ) -> _Outcome | None:
        row = await session.get(Notification, notification_id, populate_existing=True)
        if row is None or row.status != NotificationStatus.PENDING:
            return None
        rule = self.rules.rule(row.event)
        if rule is None or not rule.notify:
            return self._skip(row, "rule_off")
        order = await self._store.find_order(row.order_number)
        if order is None:
            return self._skip(row, "order_not_found")
        if await self._complete(session, row, order):
            return self._skip(row, "duplicate")
        if row.event in PER_SHIPMENT and not shown(order, row.news or ""):
            return self._await_store(row, now)
        if await self._superseded(session, row, order):
            return self._skip(row, "superseded")
        if not order.email:
            return self._skip(row, "no_address")
        row.email_hash = email_hash(order.email, self._settings)
        if await is_opted_out(session, row.email_hash):
            return self._skip(row, "opted_out")
        wait = self.rules.next_allowed(now, self._tz)
        if wait is not None:
            return self._defer(row, wait, "quiet_hours")
        if row.event not in self.rules.daily_cap_exempt:
            start = self.rules.day_start(now, self._tz)
            today = await session.scalar(
                select(func.count()).where(
                    Notification.order_number == row.order_number,
                    Notification.status == NotificationStatus.SENT,
                    Notification.sent_at >= start,
                )
            )
            if int(today or 0) >= self.rules.max_per_order_per_day:
                return self._defer(row, self.rules.next_day(now, self._tz), "daily_cap")
        return await self._send(session, row, order, rule, now)

    def _skip(self, row: Notification, reason: str) -> _Outcome:
        row.status, row.reason = NotificationStatus.SKIPPED, reason
        return _Outcome("skipped", reason)

    def _defer(self, row: Notification, until: datetime, reason: str) -> _Outcome:
        row.not_before, row.reason = until, reason
        return _Outcome("deferred", reason)

    def _await_store(self, row: Notification, now: datetime) -> _Outcome:
        """Asked again a little later, so that once the store shows the shipment the row is
        keyed by it and meets the poller's row for the same parcel; not kept forever."""
        if now - aware(row.created_at, now) >= AWAIT_STORE_FOR:
            return self._skip(row, "not_in_store")
        return self._defer(row, now + AWAIT_STORE_RETRY, "awaiting_store")

    async def _complete(self, session: AsyncSession, row: Notification, order: Order) -> bool:
        """Completes the row's news from the store (which shipment, which new date); True when
        that news is already another row (a webhook and a poll told it both)."""
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

    async def _superseded(self, session: AsyncSession, row: Notification, order: Order) -> bool:
        """A stage a later one of the same shipment already passed, or a problem of a parcel
        that is delivered. Another shipment's news supersedes nothing."""
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
        others = {e for e in others if (r := self.rules.rule(e)) is not None and r.notify}
        rank = STAGES.get(row.event)
        if rank is not None and any(STAGES.get(e, 0) > rank for e in others):
            return True
        if row.event in PROBLEMS:
            mine = [s for s in order.shipments if not shipment or s.id == shipment]
            delivered = bool(mine) and all(s.status == "delivered" for s in mine)
            return delivered or "delivered" in others
        return False

    async def _send(
        self,
        session: AsyncSession,
        row: Notification,
        order: Order,
        rule: EventRule,
        now: datetime,
    ) -> _Outcome | None:
        # compare-and-set: of two runners on the same row, one sends
        taken = await session.execute(
            update(Notification)
            .where(Notification.id == row.id, Notification.status == NotificationStatus.PENDING)
            .values(status=NotificationStatus.SENT, sent_at=now, reason="")
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            return None
        order = _about(order, shipment_of(row.news or ""))
        conversation, chat = await self._conversation(session, order, rule)
        customer = await self._store.get_customer(order.customer_id)
        first_name = customer.first_name if customer else None
        rendered = render(
            order,
            row.event,
            rule.template,
            language=self.rules.language_for(order.shipping_address.country),
            store=self._settings.store_name,
            tz=self._tz,
            first_name=first_name,
            return_days=self._return_days,
            optout_url=optout_url(order.email, self._settings),
            offer_person=rule.offer_person,
        )
        message = await repo.append_message(
            session,
            conversation_id=conversation.id,
            role="assistant",
            text=rendered.text,
            client_id=f"notify:{row.id}",
        )
        channels: list[str] = []
        message_id = None
        if "email" in rule.channels and self._settings.email_address:
            message_id = await enqueue_email(
                session,
                settings=self._settings,
                notification_id=row.id,
                conversation_id=conversation.id,
                to=order.email,
                subject=rendered.subject,
                text=rendered.text,
                unsubscribe_url=optout_url(order.email, self._settings),
                now=now,
            )
            channels.append("email")
        widget = None
        if "widget" in rule.channels and chat:
            channels.append("widget")
            widget = {
                "type": "message",
                "id": message.id,
                "conversation_id": conversation.id,
                "role": "assistant",
                "text": rendered.text,
                "citations": [],
                "owner": conversation.owner,
                "created_at": now.isoformat(),
            }
        phone = customer.phone if customer else None
        if "sms" in rule.channels and self._settings.notify_sms_webhook_url and phone:
            await enqueue_sms(
                session,
                notification_id=row.id,
                to=phone,
                text=rendered.sms,
                order_number=order.number,
                event=row.event,
                now=now,
            )
            channels.append("sms")
        if not channels:  # nobody would see it: no message, no row claiming it was sent
            await session.delete(message)
            await session.execute(
                update(Notification)
                .where(Notification.id == row.id)
                .values(status=NotificationStatus.SKIPPED, reason="no_channel", sent_at=None)
                .execution_options(synchronize_session=False)
            )
            return _Outcome("skipped", "no_channel")
        await session.execute(
            update(Notification)
            .where(Notification.id == row.id)
            .values(
                channels=channels,
                template=rule.template,
                language=rendered.language,
                email_hash=row.email_hash,
                conversation_id=conversation.id,
                message_id=message_id,
                offered_person=rule.offer_person,
            )
            .execution_options(synchronize_session=False)
        )
        sent = Sent(
            order=order.number,
            event=row.event,
            channels=channels,
            email=order.email,
            template=rule.template,
            conversation_id=conversation.id,
            text=rendered.text,
            widget_message=widget,
        )
        return _Outcome("sent", "", sent)

    async def _conversation(
        self, session: AsyncSession, order: Order, rule: EventRule
    ) -> tuple[Conversation, bool]:
        """(the conversation for this notice, whether it is the customer's open chat)."""
        now = self._clock()
        chat = await session.scalar(
            select(Conversation)
            .where(
                Conversation.verified_customer_id == order.customer_id,
                Conversation.channel == CHAT_CHANNEL,
                Conversation.owner != Owner.RESOLVED,
                Conversation.updated_at >= now - OPEN_CHAT,
            )
            .order_by(Conversation.updated_at.desc())
            .limit(1)
        )
        if chat is not None:
            return chat, True
        earlier = await session.scalar(
            select(Notification.conversation_id)
            .where(
                Notification.order_number == order.number,
                Notification.conversation_id.is_not(None),
                Notification.status == NotificationStatus.SENT,
            )
            .order_by(Notification.sent_at.desc())
            .limit(1)
        )
        conversation = await repo.get_conversation(session, earlier) if earlier else None
        if conversation is None or conversation.verified_customer_id not in (
            None,
            order.customer_id,
        ):
            conversation = await repo.create_conversation(session, channel="email")
        await repo.bind_customer(session, conversation.id, order.customer_id)
        # the offline engine continues about this order, verified, with a colleague on offer
        # after a delay or a problem (agent/local/state.py)
        state = dict(conversation.engine_state or {})
        state.update(order_number=order.number, verified=True)
        if rule.offer_person:
            state["offer"] = "human"
        await repo.set_engine_state(session, conversation.id, state)
        return conversation, False


def _about(order: Order, shipment_id: str) -> Order:
    """The order with the notice's shipment last: the texts tell the facts of the last one."""
    mine = [s for s in order.shipments if s.id == shipment_id]
    if not mine:
        return order
    rest = [s for s in order.shipments if s.id != shipment_id]
    return order.model_copy(update={"shipments": [*rest, *mine]})
