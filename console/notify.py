"""Tell a customer something outside a turn (an approval outcome, later staff replies): the
message is committed to the conversation first, then pushed to any open socket."""

from __future__ import annotations

from typing import Any

from bus import announce, conversation_topic
from storage import outcomes, repo


async def notify_customer(
    services: Any, conversation_id: str, text: str, *, role: str, staff_id: str | None = None
) -> str:
    """A staff message (`role="staff"`) also stops the escalation's first-response SLA
    (storage/outcomes.py). Staff consoles hear of every message on the staff bus topic."""
    async with services.sessions.begin() as session:
        message = await repo.append_message(
            session, conversation_id=conversation_id, role=role, text=text
        )
        conversation = await repo.get_conversation(session, conversation_id)
        if role == "staff" and conversation is not None:
            await outcomes.record_first_response(session, conversation, staff_id=staff_id)
        emailed = None
        if conversation is not None and conversation.channel == "email":
            # an email conversation is answered by email, queued with the message (outbox);
            # the email channel is reached through the services handle (console never
            # imports channels)
            emailed = await services.email_staff_reply(
                session,
                conversation_id=conversation_id,
                message_id=message.id,
                text=text,
                auto=role != "staff",
            )
    if emailed is not None:
        services.outbox.notify()
    await services.bus.publish(
        conversation_topic(conversation_id),
        {
            "type": "message",
            "id": message.id,
            "conversation_id": conversation_id,
            "role": role,
            "text": text,
            "citations": [],
            "owner": conversation.owner if conversation else "bot",
            "created_at": message.created_at.isoformat(),
        },
    )
    await announce(
        services.bus,
        {
            "type": "message",
            "conversation_id": conversation_id,
            "id": message.id,
            "role": role,
            "created_at": message.created_at.isoformat(),
        },
    )
    return message.id


async def push_message(bus: Any, frame: dict[str, Any]) -> None:
    """A message already committed to its conversation (a proactive order notification in the
    customer's open chat, notifications/runner.py) to any socket open on it, whichever worker
    holds it."""
    await bus.publish(conversation_topic(frame["conversation_id"]), frame)
