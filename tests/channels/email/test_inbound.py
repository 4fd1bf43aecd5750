"""The inbound path end to end against the offline engine and a real SMTP sink: threaded
replies, threading of the customer's answer, dedup, the gate, and what is stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.tables import Conversation, Message
from storage.tables_email import EmailRecord
from tests.channels.email.conftest import SUPPORT, mail


async def rows(env: Any, statement: Any) -> list[Any]:
    async with env.services.sessions() as session:
        return list((await session.execute(statement)).all())


async def test_a_question_gets_one_threaded_reply_with_text_and_html(email_env: Any) -> None:
    raw = mail("Hello, what is your return policy?", message_id="<q1@example.com>")
    outcome = await email_env.channel.handle(raw)
    assert outcome.action == "reply", outcome
    assert await email_env.deliver() == 1
    [sent] = email_env.sink.sent
    msg = sent.message
    assert sent.rcpt_tos == ["ada@example.com"]
    assert msg["In-Reply-To"] == "<q1@example.com>"
    assert "<q1@example.com>" in msg["References"]
    assert msg["Subject"] == f"Re: Returns [#{outcome.conversation_id[:10]}]"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Message-ID"] == outcome.sent_message_id
    assert msg["From"].endswith(f"<{SUPPORT}>")
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "return" in text.lower() and "<p>" in html
    [(conversation,)] = await rows(email_env, select(Conversation))
    assert conversation.channel == "email"
    records = await rows(
        email_env, select(EmailRecord.direction, EmailRecord.action, EmailRecord.auto)
    )
    assert sorted(records) == [("in", "reply", False), ("out", "sent", True)]
