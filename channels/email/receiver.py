"""The SMTP receiver for forwarding set-ups (aiosmtpd): a mail server or a forwarding rule hands
support mail to us over SMTP. `250` is answered only after EmailChannel.handle has committed its
decision (and any reply to the outbox), so the sending server keeps and retries what we did not
take; a failure answers `451` (try again later). Mail above SUPPORT_EMAIL_MAX_BYTES is refused by
the SMTP layer itself (`552`) before it is read whole.

Bind it to loopback or a private address behind your MTA: it accepts mail for any recipient."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.inbound import EmailChannel

log = logging.getLogger(__name__)


class _Handler:
    def __init__(self, channel: EmailChannel) -> None:
        self.channel = channel

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="replace")
        try:
            outcome = await self.channel.handle(raw or b"")
        except Exception:
            log.exception("SMTP receiver: handling failed")
            return "451 Requested action aborted: try again later"
        return f"250 OK {outcome.action}"


async def start_receiver(
    channel: EmailChannel, *, host: str, port: int, max_bytes: int
) -> asyncio.Server:
    """An SMTP server on the running loop (the channel's database engine lives on it)."""
    handler = _Handler(channel)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, data_size_limit=max_bytes, enable_SMTPUTF8=True, decode_data=False),
        host=host,
        port=port,
    )


async def serve_receiver(channel: EmailChannel, settings: Any, stop: asyncio.Event) -> None:
    server = await start_receiver(
        channel,
        host=settings.smtp_receiver_host,
        port=settings.smtp_receiver_port,
        max_bytes=settings.email_max_bytes,
    )
    log.info("SMTP receiver on %s:%s", settings.smtp_receiver_host, settings.smtp_receiver_port)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
