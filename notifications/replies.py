"""A staff reply in a conversation that a notice started, before the customer has written in it.

The email channel answers a conversation's last inbound mail (channels/email/outbound.py); a
notice's conversation has none until the customer replies, yet staff may write first (a delay
they looked into). Such a reply goes to the order's own address, read again from the store (the
address is never kept with the notice), through the outbox, threaded on the notice's
Message-ID so it lands under the notice in the customer's mail client and their answer comes back
to this conversation (channels/email/threads.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.email.outbound import enqueue_reply
from commerce.backend import StoreBackend
from settings import Settings
from storage.tables_email import EmailRecord
from storage.tables_notify import Notification, NotificationStatus


async def enqueue_notice_reply(
    session: AsyncSession,
    *,
    settings: Settings,
    store: StoreBackend,
    conversation_id: str,
    message_id: str,
    text: str,
    auto: bool = False,
    now: datetime | None = None,
) -> str | None:
    """Inside the caller's transaction. The reply's Message-ID, or None when no notice was
    emailed in this conversation (or the order or its address is gone)."""
    if not settings.email_address:
        return None
    notice = await session.scalar(
        select(Notification)
        .where(
            Notification.conversation_id == conversation_id,
            Notification.status == NotificationStatus.SENT,
            Notification.message_id.is_not(None),
        )
        .order_by(Notification.sent_at.desc(), Notification.id.desc())
        .limit(1)
    )
    if notice is None or notice.message_id is None:
        return None
    order = await store.find_order(notice.order_number)
    if order is None or not order.email:
        return None
    subject = await session.scalar(
        select(EmailRecord.subject).where(EmailRecord.message_id == notice.message_id)
    )
    return await enqueue_reply(
        session,
        settings=settings,
        conversation_id=conversation_id,
        reply_id=message_id,
        text=text,
        to=order.email,
        subject=subject or f"Your order {order.number}",
        in_reply_to=notice.message_id,
        references=[],
        auto=auto,
        now=now,
    )
