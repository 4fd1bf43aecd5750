"""What `serve` runs for the email channel, each job under its own database lease (one worker
at a time): the IMAP poller when SUPPORT_IMAP_HOST is set, the SMTP receiver when
SUPPORT_SMTP_RECEIVER_PORT is set. Nothing at all when neither is."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from channels.email.inbound import EmailChannel

Job = Callable[[asyncio.Event], Awaitable[None]]


def background_jobs(services: Any) -> list[tuple[str, Job]]:
    settings = services.settings
    jobs: list[tuple[str, Job]] = []
    if not settings.email_address:
        return jobs
    channel = EmailChannel(services)
    if settings.imap_host:
        from channels.email.imap import ImapPoller

        jobs.append(("email-imap", ImapPoller(channel, services).run_forever))
    if settings.smtp_receiver_port:
        from channels.email.receiver import serve_receiver

        async def receiver(stop: asyncio.Event) -> None:
            await serve_receiver(channel, settings, stop)

        jobs.append(("email-smtp-receiver", receiver))
    return jobs
