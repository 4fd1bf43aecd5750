"""Notification sends, all through the outbox (helpdesk/outbox.py), queued in the transaction that
marks the notification sent: a crash before the commit sends nothing and the notice is retried;
after it, the outbox delivers it (once more after a crash mid-delivery, with the same
Message-ID, so the customer's mail client shows it once).

- email: the order's address, a fixed Message-ID (`<notify-<id>@<domain>>`) recorded in
  `email_messages` as ours with reason "notification" (how a reply finds the order's
  conversation), `List-Unsubscribe` with the signed one-click link (RFC 8058) and
  `Auto-Submitted: auto-generated` (RFC 3834: robots do not answer it).
- sms: a JSON POST to SUPPORT_NOTIFY_SMS_WEBHOOK_URL signed with our webhook scheme
  (helpdesk/connectors/signing.py) and an Idempotency-Key, for the SMS provider's relay."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from channels.email.compose import thread_token
from channels.email.outbound import mail_domain, record_and_queue
from channels.email.threads import NOTIFICATION_REASON
from helpdesk.connectors.base import DeliveryError
from helpdesk.connectors.signing import IDEMPOTENCY_HEADER, signature_headers
from helpdesk.outbox import enqueue
from settings import Settings

SMS_SEND = "sms.send"


def notification_message_id(notification_id: int, settings: Settings) -> str:
    return f"<notify-{notification_id}@{mail_domain(settings)}>"


async def enqueue_email(
    session: AsyncSession,
    *,
    settings: Settings,
    notification_id: int,
    conversation_id: str,
    to: str,
    subject: str,
    text: str,
    unsubscribe_url: str,
    now: datetime,
) -> str:
    """Inside the caller's transaction. Returns the email's Message-ID."""
    message_id = notification_message_id(notification_id, settings)
    subject_out = f"{subject} {thread_token(conversation_id)}"
    address = settings.email_address
    mailto = f"mailto:{address}?subject=unsubscribe" if address else ""
    unsubscribe = ", ".join(f"<{u}>" for u in (unsubscribe_url, mailto) if u)
    payload: dict[str, Any] = {
        "from": settings.email_address,
        "from_name": settings.email_from_name,
        "to": to,
        "subject": subject_out,
        "message_id": message_id,
        "in_reply_to": None,
        "references": [],
        "date": now.isoformat(),
        "text": text,
        "auto": False,  # not a reply: Auto-Submitted is auto-generated, set below
        "conversation_id": conversation_id,
        "headers": {
            "Auto-Submitted": "auto-generated",
            "List-Unsubscribe": unsubscribe,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    await record_and_queue(
        session,
        settings=settings,
        payload=payload,
        reason=NOTIFICATION_REASON,
        auto=False,  # not counted against the automatic-reply caps
        now=now,
    )
    return message_id


async def enqueue_sms(
    session: AsyncSession,
    *,
    notification_id: int,
    to: str,
    text: str,
    order_number: str,
    event: str,
    now: datetime,
) -> None:
    await enqueue(
        session,
        kind=SMS_SEND,
        target="sms",
        payload={
            "to": to,
            "text": text,
            "order": order_number,
            "event": event,
            "notification_id": notification_id,
        },
        idempotency_key=f"sms:{notification_id}",
        now=now,
    )


class SmsWebhookSender:
    """The outbox's sender for SMS_SEND rows: one signed POST per message."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    async def __call__(self, payload: dict[str, Any], key: str) -> str:
        url = self._settings.notify_sms_webhook_url
        secret = self._settings.notify_sms_webhook_secret
        if not url or secret is None:
            raise DeliveryError("SMS webhook URL or secret not set", retryable=False)
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: key,
            **signature_headers(secret.get_secret_value(), body, now=time.time()),
        }
        try:
            response = await self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"SMS webhook unreachable: {type(exc).__name__}", retryable=True
            ) from exc
        if response.status_code >= 300:
            retryable = response.status_code >= 500 or response.status_code == 429
            raise DeliveryError(
                f"SMS webhook answered {response.status_code}",
                retryable=retryable,
                status=response.status_code,
            )
        return key
