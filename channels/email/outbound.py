"""Replies out: queued in the caller's transaction (the outbound row and its outbox entry commit
with the decision to send, so a crash never loses a reply), delivered by the outbox worker
through SMTP (aiosmtplib, STARTTLS or TLS), retried with backoff, and idempotent on the reply's
Message-ID (a second enqueue of the same reply is a no-op; a resend carries the same Message-ID).

Replies go to the From address of the customer's mail, never to a Reply-To: order data must only
reach the address that wrote to us (and the gate in inbound.py checks that address is the order's
own when a customer is verified)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.email.compose import (
    build_message,
    message_id_for,
    references_for,
    reply_subject,
)
from channels.email.threads import sender_hash
from helpdesk.connectors.base import DeliveryError
from helpdesk.outbox import _insert, enqueue
from masking import mask_text
from settings import Settings
from storage.tables import utcnow
from storage.tables_email import EmailDirection, EmailRecord

log = logging.getLogger(__name__)

EMAIL_SEND = "email.send"


def mail_domain(settings: Settings) -> str:
    """The right side of our Message-IDs: the support address's domain."""
    return (settings.email_address or "support-agent.invalid").rsplit("@", 1)[-1]


async def last_inbound(session: AsyncSession, conversation_id: str) -> EmailRecord | None:
    return await session.scalar(
        select(EmailRecord)
        .where(
            EmailRecord.conversation_id == conversation_id,
            EmailRecord.direction == EmailDirection.IN,
            EmailRecord.address.is_not(None),
        )
        .order_by(EmailRecord.created_at.desc(), EmailRecord.id.desc())
        .limit(1)
    )


async def enqueue_reply(
    session: AsyncSession,
    *,
    settings: Settings,
    conversation_id: str,
    reply_id: str,
    text: str,
    to: str,
    subject: str,
    in_reply_to: str | None,
    references: list[str],
    auto: bool,
    now: datetime | None = None,
) -> str:
    """Inside the caller's transaction. Returns the reply's Message-ID."""
    now = now or utcnow()
    message_id = message_id_for(reply_id, mail_domain(settings))
    subject_out = reply_subject(subject, conversation_id)
    payload: dict[str, Any] = {
        "from": settings.email_address,
        "from_name": settings.email_from_name,
        "to": to,
        "subject": subject_out,
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        "references": references_for(in_reply_to, references),
        "date": now.isoformat(),
        "text": text,
        "auto": auto,
        "conversation_id": conversation_id,
    }
    await record_and_queue(
        session, settings=settings, payload=payload, reason="auto" if auto else "staff",
        auto=auto, now=now,
    )
    return message_id


async def record_and_queue(
    session: AsyncSession,
    *,
    settings: Settings,
    payload: dict[str, Any],
    reason: str,
    auto: bool,
    now: datetime,
) -> None:
    """Inside the caller's transaction: the outgoing email's row in `email_messages` (its
    Message-ID is how a reply finds the conversation; `auto` counts against the automatic-reply
    caps) and its outbox entry, keyed by the Message-ID so a retry sends it once."""
    message_id = payload["message_id"]
    await session.execute(
        _insert(session)(EmailRecord)
        .values(
            message_id=message_id,
            direction=EmailDirection.OUT,
            conversation_id=payload["conversation_id"],
            sender_hash=sender_hash(
                payload["to"], settings.secret_key.get_secret_value().encode()
            ),
            subject=mask_text(payload["subject"])[:300],
            action="sent",
            reason=reason,
            auto=auto,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["message_id"])
    )
    await enqueue(
        session,
        kind=EMAIL_SEND,
        target="smtp",
        payload=payload,
        idempotency_key=f"email:{message_id}",
        now=now,
    )


async def enqueue_staff_reply(
    session: AsyncSession,
    *,
    settings: Settings,
    conversation_id: str,
    message_id: str,
    text: str,
    auto: bool = False,
) -> str | None:
    """A staff message (or a notice such as an approval outcome, `auto`) on an email
    conversation goes out by email, threaded on the customer's last mail. None when the
    conversation has no email to answer."""
    last = await last_inbound(session, conversation_id)
    if last is None or not last.address or not settings.email_address:
        return None
    return await enqueue_reply(
        session,
        settings=settings,
        conversation_id=conversation_id,
        reply_id=message_id,
        text=text,
        to=last.address,
        subject=last.subject,
        in_reply_to=last.message_id,
        references=[],
        auto=auto,
    )


class SmtpSender:
    """The outbox's sender for EMAIL_SEND rows."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def __call__(self, payload: dict[str, Any], key: str) -> str:
        s = self._settings
        if not s.smtp_host:
            raise DeliveryError("SUPPORT_SMTP_HOST is not set", retryable=True)
        message = build_message(payload)
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=s.smtp_security == "tls",
                start_tls=True if s.smtp_security == "starttls" else False,
                timeout=s.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc}", retryable=False) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx is permanent (bad address, policy); 4xx is the server asking us to come back
            raise DeliveryError(
                f"SMTP {exc.code}: {exc.message}", retryable=exc.code < 500, status=exc.code
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP unreachable: {type(exc).__name__}", retryable=True) from exc
        log.info("email %s sent (%s)", payload["message_id"], key)
        return str(payload["message_id"])
