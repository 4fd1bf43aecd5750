"""Which conversation an email belongs to, and how many automatic replies a thread and a sender
have had today.

A thread is found from In-Reply-To and References (newest first), then from the `[#token]` our
subjects carry (for clients that drop those headers). The sender must be the thread's own sender
(same keyed address digest): a Message-ID or token is no secret, and knowing one must not let
somebody else continue a conversation whose customer was verified. A mismatch starts a new one.

A reply to an order notification (notifications/) threads on our Message-ID alone when it comes
from the address the notice went to, which is the order's own: that conversation was bound to
the order's customer when the notice was sent. From any other address it starts a new one, where
the customer verifies as usual."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.email.compose import TOKEN
from channels.email.parse import ParsedEmail
from storage.tables import Conversation
from storage.tables_email import EmailDirection, EmailRecord

DAY = timedelta(days=1)
NOTIFICATION_REASON = "notification"  # email_messages.reason of our order notifications


def sender_hash(address: str, secret: bytes) -> str:
    return hmac.new(secret, address.strip().lower().encode(), hashlib.sha256).hexdigest()


async def _sender_matches(session: AsyncSession, conversation_id: str, digest: str) -> bool:
    found = await session.scalar(
        select(EmailRecord.id)
        .where(
            EmailRecord.conversation_id == conversation_id,
            EmailRecord.direction == EmailDirection.IN,
            EmailRecord.sender_hash == digest,
        )
        .limit(1)
    )
    return found is not None


async def find_thread(session: AsyncSession, parsed: ParsedEmail, digest: str) -> str | None:
    ids = [i for i in [parsed.in_reply_to, *reversed(parsed.references)] if i]
    candidates: list[str] = []
    if ids:
        rows = await session.execute(
            select(
                EmailRecord.message_id,
                EmailRecord.conversation_id,
                EmailRecord.direction,
                EmailRecord.reason,
                EmailRecord.sender_hash,
            ).where(EmailRecord.message_id.in_(ids), EmailRecord.conversation_id.is_not(None))
        )
        by_id = {row.message_id: row for row in rows.all()}
        for i in ids:
            row = by_id.get(i)
            if row is None:
                continue
            # a reply to one of our order notifications, from the address it was sent to (the
            # order's own): the order's conversation, already bound to that customer
            if (
                row.direction == EmailDirection.OUT
                and row.reason == NOTIFICATION_REASON
                and row.sender_hash == digest
            ):
                return str(row.conversation_id)
            candidates.append(row.conversation_id)
    if match := TOKEN.search(parsed.subject):
        token_hits = await session.scalars(
            select(Conversation.id).where(
                Conversation.id.like(f"{match.group(1)}%"), Conversation.channel == "email"
            )
        )
        candidates += list(token_hits)
    for conversation_id in dict.fromkeys(candidates):
        if await _sender_matches(session, conversation_id, digest):
            return conversation_id
    return None


async def auto_replies_since(
    session: AsyncSession, *, since: datetime, conversation_id: str | None, digest: str
) -> tuple[int, int]:
    """Automatic replies since `since`: (to this thread, to this sender)."""
    base = select(func.count()).where(
        EmailRecord.direction == EmailDirection.OUT,
        EmailRecord.auto.is_(True),
        EmailRecord.created_at >= since,
    )
    thread = (
        int(await session.scalar(base.where(EmailRecord.conversation_id == conversation_id)) or 0)
        if conversation_id
        else 0
    )
    sender = int(await session.scalar(base.where(EmailRecord.sender_hash == digest)) or 0)
    return thread, sender
