"""Replies out: staff replies on an email conversation go by email, the outbox retries a
refusing SMTP server with the same Message-ID, a permanent refusal is a dead letter, and the
gate holds replies as drafts (order data for another address, a weak help-center answer)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from server import create_app
from storage.tables import Escalation
from storage.tables_helpdesk import OutboxEntry
from tests.channels.email.conftest import mail

STAFF = {"Authorization": "Bearer dev-staff-token"}


async def test_a_staff_reply_on_an_email_conversation_goes_out_by_email(email_env: Any) -> None:
    first = await email_env.channel.handle(
        mail("I want to talk to a person please.", message_id="<s1@example.com>")
    )
    assert first.action == "draft"
    app = create_app(email_env.services.settings, email_env.services)
    app.state.services = email_env.services
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.post(
            f"/api/staff/conversations/{first.conversation_id}/reply",
            headers=STAFF,
            json={"staff_id": "sam", "text": "Hi Ada, **Sam** here. Your refund is on its way."},
        )
    assert response.status_code == 200, response.text
    await email_env.deliver()
    [sent] = email_env.sink.sent
    msg = sent.message
    assert sent.rcpt_tos == ["ada@example.com"]
    assert msg["In-Reply-To"] == "<s1@example.com>"
    assert msg["Auto-Submitted"] is None  # a person wrote it
    assert "Sam here" in msg.get_body(("plain",)).get_content()
    assert "<strong>Sam</strong>" in msg.get_body(("html",)).get_content()


async def test_smtp_refusals_are_retried_with_the_same_message_id(email_env: Any) -> None:
    email_env.sink.refuse_with = "451 4.3.0 try again later"
    outcome = await email_env.channel.handle(mail(message_id="<r1@example.com>"))
    # one outbox pass: the retry's full-jitter delay can be near zero, and `deliver` keeps
    # passing while anything is due (CI once saw the retry refused a second time)
    assert int(await email_env.services.outbox.run_once()) == 1
    assert email_env.sink.sent == []
    async with email_env.services.sessions() as session:
        [row] = (await session.scalars(select(OutboxEntry))).all()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "451" in (row.last_error or "")
    email_env.sink.refuse_with = None
    async with email_env.services.sessions.begin() as session:  # due now instead of later
        (await session.get_one(OutboxEntry, row.id)).next_attempt_at = row.created_at
    assert await email_env.deliver() == 1
    [sent] = email_env.sink.sent
    assert sent.message["Message-ID"] == outcome.sent_message_id


async def test_a_permanent_refusal_is_a_dead_letter(email_env: Any) -> None:
    email_env.sink.refuse_with = "550 5.1.1 no such user"
    await email_env.channel.handle(mail(message_id="<p1@example.com>"))
    await email_env.deliver()
    async with email_env.services.sessions() as session:
        [row] = (await session.scalars(select(OutboxEntry))).all()
    assert row.status == "dead"


async def test_order_data_for_another_address_is_held_as_a_draft(email_env: Any) -> None:
    outcome = await email_env.channel.handle(
        mail(
            "Where is order #1001? The email on it is ada@example.com",
            sender="Bob <bob@example.com>",
        )
    )
    assert (outcome.action, outcome.reason) == ("draft", "not_order_address"), outcome
    await email_env.deliver()
    assert email_env.sink.sent == []
    async with email_env.services.sessions() as session:
        [escalation] = (await session.scalars(select(Escalation))).all()
    assert escalation.suggested_reply == outcome.reply
    assert escalation.details["email_draft_reason"] == "not_order_address"


async def test_the_order_address_itself_gets_its_answer(email_env: Any) -> None:
    outcome = await email_env.channel.handle(
        mail("Where is order #1001? The email on it is ada@example.com")
    )
    assert outcome.action == "reply", outcome
    await email_env.deliver()
    [sent] = email_env.sink.sent
    assert "1Z999AA10123456784" in sent.message.get_body(("plain",)).get_content()


async def test_a_weak_help_center_answer_is_a_draft(email_env: Any) -> None:
    outcome = await email_env.channel.handle(mail("Do you sell gift cards?", subject="Gifts"))
    assert (outcome.action, outcome.reason) == ("draft", "low_confidence"), outcome
    await email_env.deliver()
    assert email_env.sink.sent == []
