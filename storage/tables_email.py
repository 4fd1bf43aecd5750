"""Tables of the email channel (issue #15, migration 0008): where each polled mailbox stands, and
one row per email in or out, which is at once the thread map (Message-ID -> conversation), the
dedup record (a Message-ID is processed once) and the count behind the automatic-reply caps.

`sender_hash` is a keyed digest of the lowercased address: enough to thread a sender's mail and
count replies to them. The address itself is kept only on inbound rows of a conversation (staff
replies go to it), and those rows go when the conversation goes (foreign key, on delete cascade);
suppressed robot mail keeps no address at all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, utcnow


class EmailMailbox(Base):
    """A polled IMAP mailbox: UIDs above `last_uid` are new while `uidvalidity` is unchanged;
    when the server changes UIDVALIDITY the numbering restarts and the Message-ID dedup in
    `email_messages` keeps the mail already handled from being answered twice."""

    __tablename__ = "email_mailboxes"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)  # user@host/INBOX
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EmailDirection:
    IN = "in"
    OUT = "out"


class EmailRecord(Base):
    """One email, received or sent. Inbound rows are written before the agent runs (action
    "received") so a crash mid-turn resumes on the same conversation; the final action is one of
    reply | draft | suppress | ignore. Outbound rows are our replies (`auto` when the bot sent
    it without a person), counted by the per-thread and per-sender daily caps."""

    __tablename__ = "email_messages"
    __table_args__ = (
        Index("ix_email_messages_sender_at", "sender_hash", "created_at"),
        Index("ix_email_messages_conversation_at", "conversation_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    direction: Mapped[str] = mapped_column(String(3))
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    address: Mapped[str | None] = mapped_column(String(320))  # inbound rows of a conversation
    sender_hash: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300), default="")  # masked
    action: Mapped[str] = mapped_column(String(12), default="received")
    reason: Mapped[str] = mapped_column(String(60), default="")
    auto: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
