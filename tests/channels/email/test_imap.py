"""The IMAP poller against Debian's Dovecot on loopback, and the SMTP receiver: each mail
handled once, moved to the processed folder, nothing reprocessed after a restart (UIDVALIDITY +
last UID stored), IDLE wakes the poller, and forwarded mail over SMTP is answered."""

from __future__ import annotations

import asyncio
import smtplib
from typing import Any

from sqlalchemy import select

from channels.email.imap import ImapPoller
from channels.email.inbound import EmailChannel
from storage.tables_email import EmailMailbox, EmailRecord
from tests.channels.email.conftest import Dovecot, Env, mail
from tests.conftest import free_port


async def _env(make_services: Any, settings: Any, sink: Any) -> Env:
    services = await make_services(settings=settings)
    return Env(services, EmailChannel(services), sink)


async def test_poll_moves_handled_mail_and_never_reprocesses(
    make_services: Any, imap_settings: Any, smtp_sink: Any, dovecot: Dovecot
) -> None:
    env = await _env(make_services, imap_settings, smtp_sink)
    dovecot.append(mail("What is your return policy?", message_id="<i1@example.com>"))
    dovecot.append(mail("Away", headers={"Auto-Submitted": "auto-replied"}))
    poller = ImapPoller(env.channel, env.services)
    assert await poller.poll_once() == 2
    assert (dovecot.count("INBOX"), dovecot.count("Processed")) == (0, 2)
    await env.deliver()
    assert [s.message["In-Reply-To"] for s in smtp_sink.sent] == ["<i1@example.com>"]
    async with env.services.sessions() as session:
        state = await session.get(EmailMailbox, poller.name)
        actions = sorted((await session.scalars(select(EmailRecord.action))).all())
    assert state is not None and state.last_uid == 2
    assert actions == ["reply", "sent", "suppress"]
    # a restart: a new poller over the same database finds nothing new
    dovecot.append(mail("And refunds?", message_id="<i2@example.com>"))
    restarted = ImapPoller(EmailChannel(env.services), env.services)
    assert await restarted.poll_once() == 1
    assert await restarted.poll_once() == 0
    await env.deliver()
    assert len(smtp_sink.sent) == 2


async def test_a_message_put_back_in_the_inbox_is_not_answered_twice(
    make_services: Any, imap_settings: Any, smtp_sink: Any, dovecot: Dovecot
) -> None:
    """UIDVALIDITY reset (or mail copied back): new UIDs, same Message-ID -> a duplicate."""
    env = await _env(make_services, imap_settings, smtp_sink)
    raw = mail("What is your return policy?", message_id="<again@example.com>")
    dovecot.append(raw)
    poller = ImapPoller(env.channel, env.services)
    assert await poller.poll_once() == 1
    async with env.services.sessions.begin() as session:
        state = await session.get(EmailMailbox, poller.name)
        state.uidvalidity = 1  # as if the server renumbered the mailbox
    dovecot.append(raw)
    assert await poller.poll_once() == 1
    await env.deliver()
    assert len(smtp_sink.sent) == 1
    assert dovecot.count("INBOX") == 0


async def test_idle_wakes_the_poller_for_new_mail(
    make_services: Any, imap_settings: Any, smtp_sink: Any, dovecot: Dovecot
) -> None:
    settings = imap_settings.model_copy(update={"imap_poll_s": 30.0})  # only IDLE can be in time
    env = await _env(make_services, settings, smtp_sink)
    stop = asyncio.Event()
    task = asyncio.create_task(ImapPoller(env.channel, env.services).run_forever(stop))
    try:
        await asyncio.sleep(1.0)  # connected and idling
        await asyncio.to_thread(dovecot.append, mail(message_id="<idle@example.com>"))
        for _ in range(200):  # waits for the outcome; the 30 s poll would be far later
            async with env.services.sessions() as session:
                if (
                    await session.scalar(
                        select(EmailRecord.action).where(
                            EmailRecord.message_id == "<idle@example.com>"
                        )
                    )
                    == "reply"
                ):
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the IDLE poller did not handle the new mail")
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert dovecot.count("Processed") == 1


async def test_the_smtp_receiver_answers_forwarded_mail(
    make_services: Any, email_settings: Any, smtp_sink: Any
) -> None:
    from channels.email.receiver import start_receiver

    env = await _env(make_services, email_settings, smtp_sink)
    port = free_port()
    server = await start_receiver(env.channel, host="127.0.0.1", port=port, max_bytes=50_000)

    def send(raw: bytes) -> Any:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            return client.sendmail("ada@example.com", ["support@shop.test"], raw)

    try:
        await asyncio.to_thread(send, mail(message_id="<fw1@example.com>"))
        try:
            await asyncio.to_thread(send, mail("x" * 60_000))
            raise AssertionError("an oversize mail was accepted")
        except smtplib.SMTPResponseException as exc:  # refused at MAIL FROM SIZE= or at DATA
            assert exc.smtp_code == 552
    finally:
        server.close()
        await server.wait_closed()
    await env.deliver()
    [sent] = smtp_sink.sent
    assert sent.message["In-Reply-To"] == "<fw1@example.com>"


async def test_serve_runs_the_poller_under_its_lease_and_the_outbox_sends(
    make_services: Any, imap_settings: Any, smtp_sink: Any, dovecot: Dovecot
) -> None:
    """The wiring of `serve`: start_background takes the "email-imap" lease, the poller handles
    new mail and the outbox worker sends the reply, with no call from the test."""
    from storage.tables_security import Lease

    services = await make_services(settings=imap_settings)
    services.start_background()
    try:
        await asyncio.to_thread(dovecot.append, mail(message_id="<serve1@example.com>"))
        for _ in range(600):  # waits for the email; fails after ~30 s
            if smtp_sink.sent:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("no reply was sent by the background jobs")
        async with services.sessions() as session:
            leases = set((await session.scalars(select(Lease.name))).all())
    finally:
        await services.close()
    assert {"email-imap", "outbox"} <= leases
    [sent] = smtp_sink.sent
    assert sent.message["In-Reply-To"] == "<serve1@example.com>"
