"""Tables of the staff console (issue #16, migration 0009): staff accounts and their server-side
sessions, internal notes on conversations and saved replies.

A session row keeps only the SHA-256 digest of the random session id the cookie carries, so a
copy of the database does not sign anyone in. Staff ids in notes and saved replies are plain
strings, not foreign keys: the bearer token acts as the body's `staff_id` (default "staff"),
which names no account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, new_id, utcnow


class StaffRole:
    AGENT = "agent"
    ADMIN = "admin"
    ALL = (AGENT, ADMIN)


class StaffMember(Base):
    __tablename__ = "staff_members"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lowercased
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(10))  # agent | admin
    password_hash: Mapped[str] = mapped_column(String(300))  # argon2id, PHC string
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StaffSession(Base):
    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the id
    staff_id: Mapped[str] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]  # the absolute lifetime; idle expiry counts from last_seen_at


class StaffNote(Base):
    """An internal note on a conversation: staff see it, the customer never does."""

    __tablename__ = "staff_notes"
    __table_args__ = (Index("ix_staff_notes_conversation_at", "conversation_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    staff_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedReply(Base):
    __tablename__ = "saved_replies"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
