"""Tables of proactive order notifications (issue #17, migration 0010).

`notifications` holds one row per piece of news, (order, event, news), whatever told us about it
(a Shopify webhook, a poll of the store, both, twice): the unique key is what makes a notice go
out once. `news` tells apart what the same event means twice on one order: the shipment (a
second parcel's `shipped`), the new estimated date (a second delay), the refunded total. A row is
`pending` until its `not_before` (quiet hours, the daily cap and a shipment the store does not
show yet (`awaiting_store`) move it, never drop it), then `sent` (the message, the email's outbox
row and any SMS row committed with that status) or `skipped` with the reason (opted_out,
superseded, duplicate, rule_off, no_channel, no_address, order_not_found, not_in_store).

Opt-outs keep a keyed digest of the address, never the address. Polling keeps, per order, what
it saw last (`notification_order_state`) and, per source, when it started watching and when it
last passed (`notification_sources`): what happened before that is history, not news."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, utcnow


class NotificationStatus:
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("order_number", "event", "news", name="uq_notifications_order_event"),
        Index("ix_notifications_due", "status", "not_before"),
        Index("ix_notifications_order", "order_number", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_number: Mapped[str] = mapped_column(String(40))
    # shipped | in_transit | out_for_delivery | delivered | exception | delayed | no_scan |
    # eta_passed | refunded
    event: Mapped[str] = mapped_column(String(30))
    # which piece of news (notifications/news.py): "<shipment id>" for a stage or a problem,
    # "<shipment id>@<date>" for a delay, an estimate passed or a silence, the refunded total
    # for a refund; "" until a webhook's news is matched to the store's shipment
    news: Mapped[str] = mapped_column(String(120), default="", server_default="")
    source: Mapped[str] = mapped_column(String(20))  # shopify | poll
    occurred_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default=NotificationStatus.PENDING)
    # why it waits (quiet_hours, daily_cap) or why it was skipped
    reason: Mapped[str] = mapped_column(String(40), default="")
    not_before: Mapped[datetime]
    channels: Mapped[list[Any]] = mapped_column(JSON, default=list)  # email, widget, sms
    template: Mapped[str | None] = mapped_column(String(60))
    language: Mapped[str | None] = mapped_column(String(8))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    message_id: Mapped[str | None] = mapped_column(String(300))  # the email's Message-ID
    # the notice offered a colleague (a delay, a problem): asking for one is filed at low priority
    offered_person: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class NotificationOptOut(Base):
    """A customer who asked for no notifications: honoured from the moment the row commits."""

    __tablename__ = "notification_optouts"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # link | one_click | staff
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderWatch(Base):
    """What the poller saw of an order last time (shipments, scans, estimates, refunds)."""

    __tablename__ = "notification_order_state"

    order_number: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationSource(Base):
    """When a source (the poller of one store) started watching."""

    __tablename__ = "notification_sources"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    since: Mapped[datetime]
    # the last pass: an order it could have seen but has no snapshot of (forgotten by retention
    # or erasure) is remembered again as it is, not told again
    polled_at: Mapped[datetime | None]


class ShopifyDelivery(Base):
    """A Shopify webhook delivery handled (X-Shopify-Webhook-Id): a retry is answered once."""

    __tablename__ = "shopify_webhooks"

    webhook_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    topic: Mapped[str] = mapped_column(String(60))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
