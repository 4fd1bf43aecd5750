"""Small repository functions over an AsyncSession. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from masking import mask_args, mask_result
from storage import fastpath
from storage.tables import AuditEntry, Conversation, Escalation, Message, Owner, utcnow


async def create_conversation(session: AsyncSession, *, channel: str) -> Conversation:
    conversation = Conversation(channel=channel, owner=Owner.BOT, owner_version=0)
    session.add(conversation)
    await session.flush()
    return conversation


async def get_conversation(session: AsyncSession, conversation_id: str) -> Conversation | None:
    return await session.get(Conversation, conversation_id, populate_existing=True)


async def set_engine_state(
    session: AsyncSession, conversation_id: str, state: dict[str, Any] | None
) -> None:
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(engine_state=state)
    )


async def append_message(
    session: AsyncSession,
    *,
    conversation_id: str,
    role: str,
    text: str = "",
    client_id: str | None = None,
    reply_to: str | None = None,
    citations: list[dict[str, Any]] | None = None,
    payload: dict[str, Any] | None = None,
    after_seq: int | None = None,
) -> Message:
    """Adds one message at the end of the conversation (see append_messages)."""
    row = {
        "role": role,
        "text": text,
        "client_id": client_id,
        "reply_to": reply_to,
        "citations": citations,
        "payload": payload,
    }
    return (await append_messages(session, conversation_id, [row], after_seq=after_seq))[0]


async def append_messages(
    session: AsyncSession,
    conversation_id: str,
    rows: list[dict[str, Any]],
    *,
    after_seq: int | None = None,
) -> list[Message]:
    """Adds messages at the end of the conversation with one seq lookup and one INSERT,
    straight through the driver (storage/fastpath.py). seq is unique per conversation, so two
    writers racing for the same slot make one of them fail rather than interleave silently.
    `after_seq`: the last seq the caller just read in this transaction (saves the lookup).
    The messages come back as plain objects, not tracked by the session."""
    return await fastpath.append_messages(session, conversation_id, rows, after_seq=after_seq)


async def _insert(session: AsyncSession, entity: Any, values: list[dict[str, Any]]) -> None:
    """A Core INSERT (one statement for all rows) instead of the ORM's unit of work, which
    costs more CPU than the statement on a chat turn. Objects added to the session and not yet
    flushed go first, so a row they are the parent of exists before ours."""
    if session.new:
        await session.flush()
    await session.execute(insert(entity.__table__), values)


async def find_by_client_id(
    session: AsyncSession, conversation_id: str, client_id: str
) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id, Message.client_id == client_id
        )
    )


async def reply_to(session: AsyncSession, message_id: str) -> Message | None:
    return await session.scalar(
        select(Message).where(Message.reply_to == message_id, Message.role == "assistant")
    )


async def history(
    session: AsyncSession, conversation_id: str, *, limit: int | None = None
) -> Sequence[Message]:
    query = select(Message).where(Message.conversation_id == conversation_id)
    if limit:
        rows = (await session.scalars(query.order_by(Message.seq.desc()).limit(limit))).all()
        return list(reversed(rows))
    return (await session.scalars(query.order_by(Message.seq))).all()


async def bind_customer(session: AsyncSession, conversation_id: str, customer_id: str) -> bool:
    """Binds the conversation to a verified customer; False if it is bound to someone else."""
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            (Conversation.verified_customer_id.is_(None))
            | (Conversation.verified_customer_id == customer_id),
        )
        .values(verified_customer_id=customer_id, verified_at=utcnow())
    )
    return result.rowcount == 1


async def count_failed_verification(session: AsyncSession, conversation_id: str) -> int:
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(failed_verifications=Conversation.failed_verifications + 1)
    )
    return int(
        await session.scalar(
            select(Conversation.failed_verifications).where(Conversation.id == conversation_id)
        )
        or 0
    )


async def change_owner(
    session: AsyncSession,
    conversation_id: str,
    *,
    expected_version: int,
    owner: Owner,
    staff_id: str | None = None,
) -> bool:
    """Compare-and-set on owner_version: a stale writer changes nothing and learns it lost."""
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.owner_version == expected_version)
        .values(owner=owner, owner_staff_id=staff_id, owner_version=expected_version + 1)
    )
    return result.rowcount == 1


async def open_escalation(session: AsyncSession, conversation_id: str) -> Escalation | None:
    return await session.scalar(
        select(Escalation)
        .where(Escalation.conversation_id == conversation_id, Escalation.status != "closed")
        .order_by(Escalation.created_at.desc())
    )


async def add_escalation(
    session: AsyncSession,
    *,
    conversation_id: str,
    reason: str,
    summary: str,
    customer_id: str | None,
) -> Escalation:
    escalation = Escalation(
        conversation_id=conversation_id,
        reason=reason,
        summary=summary,
        customer_id=customer_id,
        status="open",
        created_at=utcnow(),
    )
    session.add(escalation)
    await session.flush()
    return escalation


async def add_audit(session: AsyncSession, *, masked: bool = False, **fields: Any) -> None:
    """Every audit row passes here or through audit_row, so every writer's args and result are
    masked. `masked`: the caller (the tool layer) already did it, outside the transaction."""
    row = audit_row(masked=masked, **fields)
    await _insert(session, AuditEntry, [{**row, "created_at": utcnow()}])


def audit_row(*, masked: bool = False, **fields: Any) -> dict[str, Any]:
    """An audit row's fields, masked (see add_audit), without its time."""
    if not masked:
        fields["args"] = mask_args(fields.get("args") or {})
        fields["result"] = mask_result(str(fields.get("result") or ""))
    return {"args": {}, "decision": None, "result": "", "conversation_id": None, **fields}


async def confirm_owner_version(session: AsyncSession, conversation_id: str, version: int) -> bool:
    """True (and the row touched) only if nobody changed the owner since `version` was read."""
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.owner_version == version)
        .values(updated_at=utcnow())
    )
    return result.rowcount == 1


KEEP: Any = fastpath.KEEP  # finish_turn: leave the engine state as it is


async def finish_turn(
    session: AsyncSession,
    conversation_id: str,
    *,
    version: int,
    engine_state: dict[str, Any] | None = KEEP,
    release_holder: str | None = None,
) -> bool:
    """The bot's reply transaction in one statement: the compare-and-set on owner_version
    (confirm_owner_version), the engine state and the turn lease of `release_holder` given
    back. False, and nothing changed, when someone changed the owner since `version`.
    (storage/fastpath.py runs it, and also says what the reply's rows follow.)"""
    last = await fastpath.finish_turn(
        session,
        conversation_id,
        version=version,
        engine_state=engine_state,
        release_holder=release_holder,
    )
    return last is not None
