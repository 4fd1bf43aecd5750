"""A reply to a notification email, through the real email path (EmailChannel, the offline engine,
the SMTP sink): from the order's address and threaded on our Message-ID it continues in the
order's conversation and the agent answers about the order without asking to verify; from any
other address it starts a new conversation and verification is asked as usual."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.email.inbound import EmailChannel
from commerce.demo.store import DemoStore
from settings import Settings
from storage.tables import Conversation, Escalation
from tests.channels.email.conftest import mail
from tests.notifications.conftest import Clock, SmtpSink, write_store
from tests.notifications.test_runner import at_local


class _World:
    def __init__(self, services: Any, clock: Clock, sink: SmtpSink) -> None:
        from notifications.runner import NotificationRunner

        self.services = services
        self.clock = clock
        self.sink = sink
        self.runner = NotificationRunner(
            sessions=services.sessions,
            store=services.store,
            settings=services.settings,
            clock=clock,
        )
        self.channel = EmailChannel(services, clock=clock)

    async def deliver(self) -> None:
        while await self.services.outbox.run_once():
            pass

    async def notice(self, number: str, *steps: str) -> Any:
        """The order moved along, one pass, the notice on the SMTP sink: (email, conversation)."""
        for step in steps:
            await self.services.store.advance_order(order_number=number, to=step)
        sent = (await self.runner.run_once()).sent
        assert len(sent) == 1
        before = len(self.sink.sent)
        await self.deliver()
        assert len(self.sink.sent) == before + 1
        return self.sink.sent[-1].message, sent[0].conversation_id


@pytest.fixture
async def world(
    make_services: Any, notify_settings: Settings, smtp_sink: SmtpSink, tmp_path: Path
) -> AsyncIterator[_World]:
    clock = Clock()
    store = DemoStore.open(write_store(tmp_path / "store"), clock=clock)
    services = await make_services(settings=notify_settings, store=store, clock=clock)
    services.outbox._clock = clock  # the outbox's due times follow the test's clock
    world = _World(services, clock, smtp_sink)
    await world.runner.run_once()  # the poller's first look
    at_local(world, 2, 10)  # type: ignore[arg-type]
    yield world


def asks_to_verify(reply: str) -> bool:
    """The agent's verification question (order number, then the order's email or postcode)."""
    text = reply.lower()
    return "email address or postal code" in text or "order number" in text


def _reply(notice: Any, text: str, sender: str) -> bytes:
    return mail(
        text,
        sender=sender,
        subject=f"Re: {notice['Subject']}",
        headers={"In-Reply-To": notice["Message-ID"], "References": notice["Message-ID"]},
    )


async def test_a_reply_from_the_orders_address_continues_about_the_order(world: _World) -> None:
    notice, conversation_id = await world.notice("#1001", "shipped")
    outcome = await world.channel.handle(
        _reply(notice, "When will it arrive?", "Ada Lovelace <ada@example.com>")
    )
    assert outcome.conversation_id == conversation_id
    assert outcome.action == "reply", outcome
    order = await world.services.store.find_order("#1001")
    assert order.shipments[-1].tracking_number in (outcome.reply or "")
    assert "verify" not in (outcome.reply or "").lower()
    await world.deliver()
    answer = world.sink.sent[-1].message
    assert answer["In-Reply-To"] is not None and answer["To"] == "ada@example.com"


async def test_a_reply_from_another_address_is_asked_to_verify(world: _World) -> None:
    notice, conversation_id = await world.notice("#1001", "shipped")
    outcome = await world.channel.handle(
        _reply(notice, "When will it arrive?", "Eve <eve@example.net>")
    )
    assert outcome.conversation_id != conversation_id
    async with world.services.sessions() as session:
        fresh = await session.get(Conversation, outcome.conversation_id)
    assert fresh is not None and fresh.verified_customer_id is None
    order = await world.services.store.find_order("#1001")
    reply = outcome.reply or ""
    assert order.shipments[-1].tracking_number not in reply
    assert asks_to_verify(reply)


async def test_the_orders_address_without_our_message_id_verifies_as_usual(
    world: _World,
) -> None:
    notice, conversation_id = await world.notice("#1001", "shipped")
    fresh_mail = mail(
        "When will my order arrive?",
        sender="Ada Lovelace <ada@example.com>",
        subject=notice["Subject"],  # the subject's token alone does not prove it is our thread
    )
    outcome = await world.channel.handle(fresh_mail)
    assert outcome.conversation_id != conversation_id
    assert asks_to_verify(outcome.reply or "")


async def test_a_delay_notice_offers_a_person_and_a_yes_files_a_low_priority_ticket(
    world: _World,
) -> None:
    await world.notice("#1001", "shipped")
    at_local(world, 4, 10)  # type: ignore[arg-type]
    notice, conversation_id = await world.notice("#1001", "exception")
    assert "person" in notice.get_body(("plain",)).get_content()
    outcome = await world.channel.handle(
        _reply(notice, "Yes, a person please.", "Ada Lovelace <ada@example.com>")
    )
    assert outcome.conversation_id == conversation_id
    async with world.services.sessions() as session:
        escalation = await session.scalar(
            select(Escalation).where(Escalation.conversation_id == conversation_id)
        )
    assert escalation is not None
    assert escalation.priority == "low"


async def _staff_reply(world: _World, conversation_id: str, text: str) -> None:
    import httpx

    from server import create_app

    app = create_app(world.services.settings, world.services)
    app.state.services = world.services  # what the lifespan sets; the test owns the services
    token = world.services.settings.staff_token.get_secret_value()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post(
            f"/api/staff/conversations/{conversation_id}/reply",
            headers={"Authorization": f"Bearer {token}"},
            json={"staff_id": "sam", "text": text},
        )
    assert response.status_code == 200, response.text


async def test_staff_can_write_first_in_a_notice_conversation(world: _World) -> None:
    """Before the customer has written, a staff reply goes to the order's address through the
    outbox, under the notice's thread; the customer's answer comes back to the conversation."""
    await world.notice("#1001", "shipped")
    at_local(world, 4, 10)  # type: ignore[arg-type]
    notice, conversation_id = await world.notice("#1001", "delayed")
    await _staff_reply(world, conversation_id, "Hi Ada, Sam here: I asked the carrier.")
    before = len(world.sink.sent)
    await world.deliver()
    assert len(world.sink.sent) == before + 1
    sent = world.sink.sent[-1]
    email = sent.message
    assert sent.rcpt_tos == ["ada@example.com"]
    assert email["In-Reply-To"] == notice["Message-ID"]
    assert notice["Message-ID"] in email["References"]
    assert "Sam here" in email.get_body(("plain",)).get_content()
    assert email["Subject"].startswith("Re: ")
    outcome = await world.channel.handle(
        mail(
            "Thanks Sam, any news?",
            sender="Ada Lovelace <ada@example.com>",
            subject=email["Subject"],
            headers={  # a mail client keeps the thread's References and adds what it answers
                "In-Reply-To": email["Message-ID"],
                "References": f"{email['References']} {email['Message-ID']}",
            },
        )
    )
    assert outcome.conversation_id == conversation_id


async def test_a_staff_reply_where_no_notice_was_emailed_sends_nothing(world: _World) -> None:
    async with world.services.sessions.begin() as session:
        from storage import repo

        conversation = await repo.create_conversation(session, channel="email")
    before = len(world.sink.sent)
    await _staff_reply(world, conversation.id, "Hello?")
    await world.deliver()
    assert len(world.sink.sent) == before
