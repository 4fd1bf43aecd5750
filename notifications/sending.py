"""Telling one notice: the message in the order's conversation (bound to the order's customer),
the email and SMS outbox rows, the frame for the customer's open chat. The runner has checked
the row (checks.py); this claims it (compare-and-set) and writes it all in the same transaction.

The conversation is the customer's open chat when they have one (the message reaches the widget
through console/notify.py), else the one earlier notices of this order used, else a new email
conversation. It is bound to the order's customer and remembers the order, so a reply (by mail
from the order's address, threaded on our Message-ID, or in the chat) continues about it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.backend import StoreBackend
from commerce.models import Order
from notifications.checks import Outcome
from notifications.delivery import enqueue_email, enqueue_sms
from notifications.news import shipment_of
from notifications.optout import optout_url
from notifications.rules import EventRule, Rules
from notifications.texts import render
from settings import Settings
from storage import repo
from storage.tables import Conversation, Owner
from storage.tables_notify import Notification, NotificationStatus

OPEN_CHAT = timedelta(hours=24)  # a chat touched this recently counts as open
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


@dataclass(frozen=True)
class Telling:
    """What telling a notice needs, as the runner holds it at that moment."""

    settings: Settings
    store: StoreBackend
    rules: Rules
    tz: ZoneInfo
    return_days: int | None  # the store's return window, for the delivered notice
    clock: Callable[[], datetime]


async def send(
    session: AsyncSession,
    row: Notification,
    order: Order,
    rule: EventRule,
    now: datetime,
    how: Telling,
) -> Outcome | None:
    """Tells the row: None when another runner took it first."""
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
    customer = await how.store.get_customer(order.customer_id)
    chat = await open_chat(session, order, now=how.clock())
    phone = customer.phone if customer else None
    reachable = {
        "email": bool(how.settings.email_address),
        "widget": chat is not None,
        "sms": bool(how.settings.notify_sms_webhook_url and phone),
    }
    channels = [c for c in ("email", "widget", "sms") if c in rule.channels and reachable[c]]
    if not channels:  # nobody would see it: no conversation, no message, not counted as sent
        await session.execute(
            update(Notification)
            .where(Notification.id == row.id)
            .values(status=NotificationStatus.SKIPPED, reason="no_channel", sent_at=None)
            .execution_options(synchronize_session=False)
        )
        return Outcome("skipped", "no_channel")
    conversation = chat or await notice_conversation(session, order, rule)
    first_name = customer.first_name if customer else None
    rendered = render(
        order,
        row.event,
        rule.template,
        language=how.rules.language_for(order.shipping_address.country),
        store=how.settings.store_name,
        tz=how.tz,
        first_name=first_name,
        return_days=how.return_days,
        optout_url=optout_url(order.email, how.settings),
        offer_person=rule.offer_person,
    )
    message = await repo.append_message(
        session,
        conversation_id=conversation.id,
        role="assistant",
        text=rendered.text,
        client_id=f"notify:{row.id}",
    )
    message_id = None
    if "email" in channels:
        message_id = await enqueue_email(
            session,
            settings=how.settings,
            notification_id=row.id,
            conversation_id=conversation.id,
            to=order.email,
            subject=rendered.subject,
            text=rendered.text,
            unsubscribe_url=optout_url(order.email, how.settings),
            now=now,
        )
    widget = None
    if "widget" in channels:
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
    if "sms" in channels:
        assert phone is not None
        await enqueue_sms(
            session,
            notification_id=row.id,
            to=phone,
            text=rendered.sms,
            order_number=order.number,
            event=row.event,
            now=now,
        )
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
    return Outcome("sent", "", sent)


async def open_chat(session: AsyncSession, order: Order, *, now: datetime) -> Conversation | None:
    """The customer's open chat: a widget conversation of theirs touched lately, not resolved."""
    return await session.scalar(
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


async def notice_conversation(session: AsyncSession, order: Order, rule: EventRule) -> Conversation:
    """Without an open chat: the conversation earlier notices of this order used, else a new
    email conversation, bound to the order's customer and remembering the order."""
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
    return conversation


def _about(order: Order, shipment_id: str) -> Order:
    """The order with the notice's shipment last: the texts tell the facts of the last one."""
    mine = [s for s in order.shipments if s.id == shipment_id]
    if not mine:
        return order
    rest = [s for s in order.shipments if s.id != shipment_id]
    return order.model_copy(update={"shipments": [*rest, *mine]})
