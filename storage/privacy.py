"""What we hold about one customer, and forgetting it: the export and erasure behind
`support-agent privacy export|erase EMAIL`, and the deletions and audit anonymisation the
retention job shares.

A customer is found by their store customer ids (the CLI resolves the email through the store)
and the conversations verified for those ids, plus the email conversations whose inbound mail
came from their address (a sender who never verified is still that person); an anonymous widget
visitor's conversation names no one and is left to retention. Attachment rows go with their
conversations; their files are removed by the caller after the commit (`remove_files`), so a
rolled-back preview deletes no file. Audit rows are anonymised rather than deleted: the counts,
tools, decisions and times stay for the record, nothing in them points to a person.

The export holds their order notices and opt-out too. Order notifications
(storage/tables_notify.py) go too: every notice row of the customer's
orders, found through the notices in their conversations (the order numbers, the keyed digest
of their address), the poller's snapshots of those orders and the SMS outbox rows of those
notices. An opt-out is kept on purpose: it is a keyed digest, not the address, and forgetting it
would start sending to someone who asked us to stop (docs/notifications.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import AuditEntry, Conversation, Escalation, Message, PendingAction
from storage.tables_email import EmailDirection, EmailRecord
from storage.tables_helpdesk import HelpdeskTicket, OutboxEntry
from storage.tables_notify import Notification, NotificationOptOut, OrderWatch
from storage.tables_widget import Attachment

ANONYMISED = '{"anonymised": true'  # how an anonymised audit result starts
# what survives anonymisation: outcome flags and enum-like values, never free text or ids
_KEEP = frozenset(
    {"answerable", "verified", "already", "needs_approval", "status", "reason", "priority",
     "resolution", "kind", "decision", "category"}
)  # fmt: skip
_ENUM = re.compile(r"^[a-z][a-z_]{0,39}$")


def _kept(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    return {
        k: v
        for k, v in data.items()
        if k in _KEEP
        and (isinstance(v, bool | int | float) or (isinstance(v, str) and _ENUM.match(v)))
    }


def anonymise_audit(entry: AuditEntry) -> None:
    """In place: the actor loses its customer id, args and result keep only outcome flags."""
    if entry.actor.startswith("customer:"):
        entry.actor = "customer"
    entry.args = _kept(entry.args)
    try:
        result = json.loads(entry.result) if entry.result else None
    except ValueError:
        result = None
    entry.result = json.dumps({"anonymised": True, **_kept(result)})


def is_anonymised(entry: AuditEntry) -> bool:
    return entry.result.startswith(ANONYMISED)


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


async def delete_conversations(session: AsyncSession, ids: Sequence[str]) -> dict[str, int]:
    """Deletes conversations with their messages, pending actions, escalations and the outbox
    rows that carry them to a helpdesk. Children go explicitly (not by cascade) so the counts
    are exact on every database. Audit rows are the caller's (anonymise_audit)."""
    ids = list(ids)
    counts = {"conversations": 0, "messages": 0, "pending_actions": 0, "escalations": 0}
    counts["outbox"] = 0
    if not ids:
        return counts
    escalation_ids = list(
        await session.scalars(select(Escalation.id).where(Escalation.conversation_id.in_(ids)))
    )
    outbox_ids = await _outbox_rows(session, set(ids), set(escalation_ids))
    children = (
        ("messages", Message, Message.conversation_id),
        ("pending_actions", PendingAction, PendingAction.conversation_id),
        ("escalations", Escalation, Escalation.conversation_id),
    )
    for name, table, column in children:
        counts[name] = await _count(session, select(table).where(column.in_(ids)))
    counts["conversations"] = await _count(
        session, select(Conversation).where(Conversation.id.in_(ids))
    )
    counts["outbox"] = len(outbox_ids)
    for _name, table, column in children:
        await session.execute(delete(table).where(column.in_(ids)))
    if outbox_ids:
        await session.execute(delete(OutboxEntry).where(OutboxEntry.id.in_(outbox_ids)))
    await session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
    return counts


async def _outbox_rows(
    session: AsyncSession, conversation_ids: set[str], escalation_ids: set[str]
) -> list[int]:
    """Outbox rows (tickets and comments) of these conversations: the ids sit in the payload."""
    payload = OutboxEntry.payload
    found = await session.scalars(
        select(OutboxEntry.id).where(
            or_(
                payload["conversation_id"].as_string().in_(list(conversation_ids)),
                payload["escalation_id"].as_string().in_(list(escalation_ids)),
            )
        )
    )
    return list(found)


SMS_SEND = "sms.send"  # notifications/delivery.py: its payload names the notice, not a conversation


async def _notices(
    session: AsyncSession, conversation_ids: Sequence[str], digests: Sequence[str] = ()
) -> ColumnElement[bool] | None:
    """Which notice rows are the customer's: those in their conversations, every notice of the
    orders told there, and those sent (or skipped) for the same address digests as those, or as
    `digests`. None when there are none to look for."""
    told = (
        await session.execute(
            select(Notification.order_number, Notification.email_hash).where(
                Notification.conversation_id.in_(list(conversation_ids))
            )
        )
    ).all()
    orders = sorted({order for order, _ in told})
    known = sorted({digest for _, digest in told if digest} | set(digests))
    if not orders and not known:
        return None
    return or_(
        Notification.conversation_id.in_(list(conversation_ids)),
        Notification.order_number.in_(orders),
        Notification.email_hash.in_(known),
    )


async def delete_notifications(
    session: AsyncSession, conversation_ids: Sequence[str]
) -> dict[str, int]:
    """The order notifications of the customer whose conversations these are: every notice of
    the orders told in them, or sent to the same address digest, the poller's snapshots of those
    orders, and those notices' SMS outbox rows. Opt-outs stay (module docstring)."""
    counts = {"notifications": 0, "notification_order_state": 0, "outbox": 0}
    where = await _notices(session, conversation_ids)
    if where is None:
        return counts
    found = await session.execute(select(Notification.id, Notification.order_number).where(where))
    pairs = found.all()
    ids = [notice_id for notice_id, _ in pairs]
    orders = sorted({order for _, order in pairs})  # those told in them, and by the digest
    texts = list(
        await session.scalars(
            select(OutboxEntry.id).where(
                OutboxEntry.kind == SMS_SEND,
                OutboxEntry.payload["notification_id"].as_integer().in_(ids),
            )
        )
    )
    watched = OrderWatch.order_number.in_(orders)
    counts["notifications"] = len(ids)
    counts["notification_order_state"] = await _count(session, select(OrderWatch).where(watched))
    counts["outbox"] = len(texts)
    if texts:
        await session.execute(delete(OutboxEntry).where(OutboxEntry.id.in_(texts)))
    await session.execute(delete(Notification).where(Notification.id.in_(ids)))
    await session.execute(delete(OrderWatch).where(watched))
    return counts


def _audit_query(conversation_ids: Sequence[str], customer_ids: Sequence[str]) -> Select[Any]:
    actors = [f"customer:{c}" for c in customer_ids]
    return select(AuditEntry).where(
        or_(AuditEntry.conversation_id.in_(list(conversation_ids)), AuditEntry.actor.in_(actors))
    )


async def customer_conversations(
    session: AsyncSession, customer_ids: Sequence[str], addresses: Sequence[str] = ()
) -> list[str]:
    """Conversations verified for these customers or fed by mail from these addresses."""
    addresses = [a.strip().lower() for a in addresses if a.strip()]
    if not customer_ids and not addresses:
        return []
    by_mail = select(EmailRecord.conversation_id).where(
        EmailRecord.direction == EmailDirection.IN,
        EmailRecord.address.in_(addresses),
        EmailRecord.conversation_id.is_not(None),
    )
    found = await session.scalars(
        select(Conversation.id)
        .where(
            or_(
                Conversation.verified_customer_id.in_(list(customer_ids)),
                Conversation.id.in_(by_mail),
            )
        )
        .order_by(Conversation.created_at)
    )
    return list(found)


async def delete_attachments(
    session: AsyncSession, conversation_ids: Sequence[str]
) -> tuple[int, list[str]]:
    """Deletes the attachment rows of these conversations; returns how many and their files'
    paths (relative to the data dir) for `remove_files` once the transaction is committed."""
    if not conversation_ids:
        return 0, []
    where = Attachment.conversation_id.in_(list(conversation_ids))
    paths = list(await session.scalars(select(Attachment.path).where(where)))
    await session.execute(delete(Attachment).where(where))
    return len(paths), paths


def remove_files(root: Path, paths: Iterable[str]) -> int:
    """Unlinks these data-dir files (attachments); a path escaping the root is skipped.
    Returns how many were there."""
    base = root.resolve()
    removed = 0
    for relative in paths:
        target = (base / relative).resolve()
        if not relative or not target.is_relative_to(base) or not target.is_file():
            continue
        target.unlink(missing_ok=True)
        removed += 1
    return removed


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _row(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in obj.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        out[column.key] = _iso(value) if isinstance(value, datetime) else value
    return out


async def export_notifications(
    session: AsyncSession, conversation_ids: Sequence[str], digests: Sequence[str] = ()
) -> dict[str, Any]:
    """The customer's order notices (told, skipped or waiting, and why) and their opt-out: the
    rows erasure would delete, found the same way, plus those of the address digests given
    (`notifications/optout.py` makes them; an opt-out by staff may precede any notice)."""
    notices: list[Notification] = []
    if (where := await _notices(session, conversation_ids, digests)) is not None:
        notices += await session.scalars(
            select(Notification).where(where).order_by(Notification.id)
        )
    known = sorted({n.email_hash for n in notices if n.email_hash} | set(digests))
    optouts = await session.scalars(
        select(NotificationOptOut).where(NotificationOptOut.email_hash.in_(known))
    )
    return {
        "notifications": [
            {
                "order": n.order_number,
                "event": n.event,
                "channel": ",".join(n.channels or []),
                "status": n.status,
                "reason": n.reason,
                "sent_at": _iso(n.sent_at),
            }
            for n in notices
        ],
        "notification_optouts": [_row(o) for o in optouts],
    }


async def export_customer(
    session: AsyncSession,
    customer_ids: Sequence[str],
    addresses: Sequence[str] = (),
    *,
    address_digests: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything stored about these customers: their verified (and emailed) conversations with
    messages, pending actions and escalations, every audit row of theirs, their order notices
    and their opt-out (`address_digests`: the opt-out keys of their addresses)."""
    conversation_ids = await customer_conversations(session, customer_ids, addresses)
    conversations: list[dict[str, Any]] = []
    for cid in conversation_ids:
        conversation = await session.get(Conversation, cid)
        assert conversation is not None
        item = _row(conversation, skip=("turn_holder", "turn_until"))
        item["messages"] = [
            _row(m, skip=("conversation_id",))
            for m in await session.scalars(
                select(Message).where(Message.conversation_id == cid).order_by(Message.seq)
            )
        ]
        item["pending_actions"] = [
            _row(a, skip=("conversation_id", "live_key"))
            for a in await session.scalars(
                select(PendingAction)
                .where(PendingAction.conversation_id == cid)
                .order_by(PendingAction.created_at)
            )
        ]
        item["escalations"] = [
            _row(e, skip=("conversation_id",))
            for e in await session.scalars(
                select(Escalation)
                .where(Escalation.conversation_id == cid)
                .order_by(Escalation.created_at)
            )
        ]
        conversations.append(item)
    audit = await session.scalars(
        _audit_query(conversation_ids, customer_ids).order_by(AuditEntry.id)
    )
    tickets = await session.scalars(
        select(HelpdeskTicket).where(HelpdeskTicket.conversation_id.in_(conversation_ids))
    )
    return {
        "customer_ids": list(customer_ids),
        "conversations": conversations,
        "audit": [_row(a) for a in audit],
        "helpdesk_tickets": [_row(t) for t in tickets],
        **await export_notifications(session, conversation_ids, address_digests),
    }


async def erase_customer(
    session: AsyncSession,
    customer_ids: Sequence[str],
    *,
    addresses: Sequence[str] = (),
    files: list[str] | None = None,
) -> dict[str, Any]:
    """Inside the caller's transaction (roll it back for a preview): deletes the customers'
    conversations and everything attached, anonymises their audit rows. Returns the counts, and
    the helpdesk tickets that live outside this database (staff erase those in the helpdesk).
    The deleted attachments' file paths are appended to `files`: the caller removes them after
    the commit."""
    conversation_ids = await customer_conversations(session, customer_ids, addresses)
    audit = [
        a
        for a in await session.scalars(_audit_query(conversation_ids, customer_ids))
        if not is_anonymised(a)
    ]
    tickets = list(
        await session.scalars(
            select(HelpdeskTicket).where(HelpdeskTicket.conversation_id.in_(conversation_ids))
        )
    )
    notices = await delete_notifications(session, conversation_ids)
    attachments, paths = await delete_attachments(session, conversation_ids)
    if files is not None:
        files.extend(paths)
    lowered = [a.strip().lower() for a in addresses if a.strip()]
    mail = or_(EmailRecord.conversation_id.in_(conversation_ids), EmailRecord.address.in_(lowered))
    emails = await _count(session, select(EmailRecord).where(mail))
    await session.execute(delete(EmailRecord).where(mail))
    counts: dict[str, Any] = await delete_conversations(session, conversation_ids)
    counts["attachments"], counts["email_messages"] = attachments, emails
    counts["outbox"] += notices.pop("outbox")
    counts.update(notices)
    # an action or escalation kept under the customer's id outside those conversations
    for name, table, column, conversation in (
        (
            "pending_actions",
            PendingAction,
            PendingAction.customer_id,
            PendingAction.conversation_id,
        ),
        ("escalations", Escalation, Escalation.customer_id, Escalation.conversation_id),
    ):
        where = (
            column.in_(list(customer_ids)),
            or_(conversation.is_(None), conversation.not_in(conversation_ids)),
        )
        counts[name] += await _count(session, select(table).where(*where))
        await session.execute(delete(table).where(*where))
    counts["audit_anonymised"] = len(audit)
    for entry in audit:
        anonymise_audit(entry)
    await session.flush()
    counts["helpdesk_tickets"] = [f"{t.connector}:{t.external_id}" for t in tickets]
    return counts
