"""A turn's first transaction: the conversation loaded (or started) under the turn order, the
customer's message committed so it can be acknowledged, and the window of messages the bot
will read. Nothing here calls a model: the transaction is short, and on SQLite it holds the
write lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from agent.turns import TurnClaim
from errors import ProtocolError
from helpdesk.ownership import transition
from storage import fastpath, outcomes, repo
from storage.tables import Conversation, Message, Owner, PendingAction
from storage.tables_widget import OutcomeKind
from tools import actions

HISTORY_WINDOW = 60


@dataclass(frozen=True)
class Opened:
    """What a turn's first transaction committed and read."""

    conversation: Conversation
    message: Message
    replay: Message | None  # the stored answer to a message sent again with its client_id
    run_bot: bool
    rows: list[Message]  # the window the bot reads
    pending: PendingAction | None
    retried: bool  # the message was stored before (sent again with its client_id)


async def open_turn(
    session: AsyncSession,
    claim: TurnClaim,
    conversation_id: str | None,
    channel: str,
    text: str,
    client_id: str | None,
) -> Opened | None:
    """The turn's first transaction: the customer's message committed (so it can be
    acknowledged), the window the bot reads. None when another worker holds the turn."""
    # one bot turn at a time per conversation, whichever worker got the message: a message
    # waits (unacknowledged) until the previous turn has committed
    conversation = await claim_conversation(session, claim, conversation_id, channel)
    if conversation is None:
        return None
    before = (
        await fastpath.window(session, conversation.id, limit=HISTORY_WINDOW)
        if conversation_id
        else []
    )
    customer_msg, replay, retried = await record_customer_message(
        session,
        conversation.id,
        text,
        client_id,
        after_seq=before[-1].seq if before else 0,
        # a window shorter than its limit is the whole conversation: a client_id that is
        # not in it was never seen, and the lookup can be skipped
        seen=before if conversation_id is None or len(before) < HISTORY_WINDOW else None,
    )
    if replay is None and conversation.owner == Owner.RESOLVED:
        # a customer writing after a resolve reopens it with the bot
        await transition(session, conversation.id, "reopen")
        outcomes.record(
            session, OutcomeKind.REOPEN, conversation_id=conversation.id, channel=channel
        )
        conversation = await load_or_create(session, conversation.id, channel)
    run_bot = replay is None and conversation.owner == Owner.BOT
    known = any(m.id == customer_msg.id for m in before)  # a retried message
    rows = ([*before] if known else [*before, customer_msg])[-HISTORY_WINDOW:]
    pending = (
        await actions.awaiting_confirmation(session, conversation.id)
        if run_bot and conversation.verified_customer_id
        else None
    )
    if not run_bot:
        await claim.release(session)
    rows = rows if run_bot else []
    return Opened(conversation, customer_msg, replay, run_bot, rows, pending, retried)


async def claim_conversation(
    session: AsyncSession, claim: TurnClaim, conversation_id: str | None, channel: str
) -> Conversation | None:
    """The conversation (started when new) with the turn's lease taken; None when another
    worker holds the lease. Across workers it is one statement either way: the INSERT of a new
    conversation carries the lease, and the lease UPDATE returns the row it claimed."""
    terms = claim.lease_terms
    if terms is None:
        conversation = await load_or_create(session, conversation_id, channel)
        await claim.claim(session, conversation.id)  # no lease to take: always True
        return conversation
    holder, ttl_s = terms
    if conversation_id is None:
        conversation = await fastpath.create_conversation(
            session, channel=channel, lease=(holder, ttl_s)
        )
    else:
        claimed = await fastpath.claim_conversation(session, conversation_id, holder, ttl_s=ttl_s)
        if claimed is None:
            await load_or_create(session, conversation_id, channel)  # raises if there is none
            return None
        conversation = claimed
    claim.taken(conversation.id)
    return conversation


async def load_or_create(
    session: AsyncSession, conversation_id: str | None, channel: str
) -> Conversation:
    """The conversation's row, read (or written) straight through the driver: a detached
    object, like the messages (storage/fastpath.py)."""
    if conversation_id is None:
        return await fastpath.create_conversation(session, channel=channel)
    conversation = await fastpath.conversation(session, conversation_id)
    if conversation is None:
        raise ProtocolError("conversation_not_found", "That conversation does not exist.")
    return conversation


async def record_customer_message(
    session: AsyncSession,
    conversation_id: str,
    text: str,
    client_id: str | None,
    *,
    after_seq: int,
    seen: Sequence[Message] | None = None,
) -> tuple[Message, Message | None, bool]:
    """Returns the customer's message, and when this client_id was already answered, that
    answer (a retry after a lost reply gets the same reply, and nothing runs twice), and
    whether the message was stored before.

    `seen`: every message of the conversation, when the caller has them all (the lookup by
    client_id is then done in memory)."""
    if client_id:
        if seen is None:
            existing = await repo.find_by_client_id(session, conversation_id, client_id)
        else:
            existing = next((m for m in seen if m.client_id == client_id), None)
        if existing is not None:
            return existing, await repo.reply_to(session, existing.id), True
    message = await repo.append_message(
        session,
        conversation_id=conversation_id,
        role="customer",
        text=text,
        client_id=client_id,
        after_seq=after_seq,
    )
    return message, None, False
