"""The widget's frames beyond a plain message (issue #13, docs/protocol.md): the signed login
(`identify`), the rating (`csat`), photos on a message, Yes / No quick replies, and the
`csat_request` pushed when staff resolve a conversation or hand it back to the bot (sent by
web/customer_push.py, which the console shares).

Identity from a token goes through the same server-side path as a successful verify_customer
(`repo.bind_customer` on the conversation row); the model never sees the token or supplies the
customer. A token that arrives before the first message is held by the socket, and the first
message starts a conversation already bound to that customer, so its very first turn is verified."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from channels import identify as tokens
from channels.attachment_files import customer_url, owned
from channels.protocol import (
    AttachmentRef,
    ClientCsat,
    ClientIdentify,
    ServerConversation,
    ServerCsatSaved,
    ServerIdentified,
)
from errors import ProtocolError
from storage import outcomes, repo
from storage.tables_widget import Attachment
from tools import actions

if TYPE_CHECKING:
    from channels.websocket import ChatSession

log = logging.getLogger(__name__)

YES_NO = ["Yes", "No"]
# the tools that propose an action the customer must confirm (tools/returns.py)
PROPOSING_TOOLS = frozenset({"start_return", "cancel_order", "change_shipping_address"})


async def identify(chat: ChatSession, frame: ClientIdentify) -> None:
    """A good token binds the conversation (or the one the next message starts); anything else
    is ignored with no frame that says why."""
    services = chat.services
    secret = services.settings.widget_secret
    check = tokens.check_token(secret.get_secret_value() if secret else None, frame.token)
    customer = None
    if check.customer_id is not None:
        customer = await services.store.get_customer(check.customer_id)
        if customer is None:
            check = tokens.TokenCheck(None, "unknown_customer")
    if customer is None:
        tokens.refused(check, chat.conversation_id)
        return
    if chat.conversation_id is not None and not await bind(chat, chat.conversation_id, customer.id):
        return
    chat.identified_customer = customer.id
    await chat.send(ServerIdentified(first_name=customer.first_name))


async def bind(chat: ChatSession, conversation_id: str, customer_id: str) -> bool:
    async with chat.services.sessions.begin() as session:
        bound = await repo.bind_customer(session, conversation_id, customer_id)
    if not bound:  # verified as someone else already: never rebound
        tokens.refused(tokens.TokenCheck(None, "bound_to_other"), conversation_id)
    return bound


async def start_identified(chat: ChatSession) -> str:
    """The first message of an identified socket: its conversation is created bound to the
    customer before the turn runs, and announced like any new conversation."""
    assert chat.identified_customer is not None
    async with chat.services.sessions.begin() as session:
        conversation = await repo.create_conversation(session, channel="web")
        await repo.bind_customer(session, conversation.id, chat.identified_customer)
        conversation_id, owner = conversation.id, conversation.owner
    chat.follow(conversation_id)
    await chat.send(ServerConversation(conversation_id=conversation_id, owner=owner))
    return conversation_id


async def csat(chat: ChatSession, frame: ClientCsat) -> None:
    if chat.conversation_id is None:
        raise ProtocolError("no_conversation", "There is no conversation to rate yet.")
    async with chat.services.sessions.begin() as session:
        conversation = await repo.get_conversation(session, chat.conversation_id)
        if conversation is None:
            raise ProtocolError("conversation_not_found", "That conversation does not exist.")
        await outcomes.save_csat(
            session,
            conversation,
            score=frame.score,
            comment=(frame.comment or "").strip() or None,
            channel=conversation.channel,
        )
    await chat.send(ServerCsatSaved())


async def check_attachments(chat: ChatSession, ids: list[str]) -> list[str]:
    """The ids, once each, if every one was uploaded to this socket's conversation; else a
    ProtocolError before anything is stored."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    if chat.conversation_id is None:
        raise ProtocolError(
            "no_conversation", "Photos belong to a conversation: send a message first."
        )
    async with chat.services.sessions() as session:
        found = await owned(session, chat.conversation_id, ids)
    # one already sent with a message is allowed: the widget resends a message it has no ack
    # for with the same client_id, and the retry links nothing twice (see `attach`)
    if len(found) != len(ids):
        raise ProtocolError("bad_attachment", "A photo was not found in this conversation.")
    return ids


async def attach(chat: ChatSession, conversation_id: str, message_id: str, ids: list[str]) -> None:
    """Links the photos to the customer message once it is committed (a resent message links
    nothing twice: the ids are taken only while unlinked)."""
    if not ids:
        return
    async with chat.services.sessions.begin() as session:
        for attachment in await owned(session, conversation_id, ids):
            if attachment.message_id is None:
                attachment.message_id = message_id


async def quick_replies(chat: ChatSession, conversation_id: str, tools: list[str]) -> list[str]:
    """Yes / No when this turn proposed an action that now awaits the customer's yes. Only a
    turn that called a proposing tool can have left one, so other turns cost no query."""
    if not PROPOSING_TOOLS.intersection(tools):
        return []
    async with chat.services.sessions() as session:
        pending = await actions.awaiting_confirmation(session, conversation_id)
    return list(YES_NO) if pending is not None else []


async def history_attachments(
    chat: ChatSession, conversation_id: str
) -> dict[str, list[AttachmentRef]]:
    """Customer message id -> its photos, for the history a resume sends."""
    from sqlalchemy import select

    async with chat.services.sessions() as session:
        rows = await session.scalars(
            select(Attachment)
            .where(
                Attachment.conversation_id == conversation_id, Attachment.message_id.is_not(None)
            )
            .order_by(Attachment.created_at)
        )
        found = list(rows)
    by_message: dict[str, list[AttachmentRef]] = {}
    settings = chat.services.settings
    for a in found:
        by_message.setdefault(a.message_id or "", []).append(
            AttachmentRef(id=a.id, url=customer_url(settings, a), content_type=a.content_type)
        )
    return by_message

