"""The tables. The database is the single source of truth for conversations, their owner,
messages, escalations and the audit log of tool calls."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Owner(StrEnum):
    BOT = "bot"
    QUEUED = "queued"  # waiting for a human; the bot stays silent
    HUMAN = "human"
    RESOLVED = "resolved"


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(20), default=Owner.BOT)
    owner_staff_id: Mapped[str | None] = mapped_column(String(64))
    # bumped on every ownership change: writers compare-and-set on it
    owner_version: Mapped[int] = mapped_column(Integer, default=0)
    verified_customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    verified_at: Mapped[datetime | None]
    failed_verifications: Mapped[int] = mapped_column(Integer, default=0)
    # the offline engine's dialogue state (flow, slots, verified), kept here rather than in the
    # message window so that long conversations do not forget it
    engine_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the worker running a bot turn for this conversation, until when: turns of one
    # conversation run one at a time across workers (the database decides, not a process lock)
    turn_holder: Mapped[str | None] = mapped_column(String(64))
    turn_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_id", name="uq_messages_client_id"),
        UniqueConstraint("conversation_id", "seq", name="uq_messages_seq"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # order within the conversation
    # customer | assistant | staff | system | tool (tool rows are the model's working memory)
    role: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    client_id: Mapped[str | None] = mapped_column(String(100))
    reply_to: Mapped[str | None] = mapped_column(String(32))
    citations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # the LangChain message (AIMessage with tool calls, ToolMessage) as a dict, for replay
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # "conversation": a customer waits for a person; "alert": a warning for staff (e.g. a wave of
    # failed verifications), with no conversation behind it
    kind: Mapped[str] = mapped_column(String(20), default="conversation", server_default="conversation")
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(50))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | claimed | closed
    customer_id: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(30), default="other")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    sentiment: Mapped[str | None] = mapped_column(String(10))
    language: Mapped[str | None] = mapped_column(String(8))
    # structured record for staff: verified customer, orders discussed, actions and outcomes
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    suggested_reply: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str | None] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(64))  # bot | customer:<id> | staff:<id>
    tool: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))  # read | write
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # personal data masked
    ok: Mapped[bool]
    decision: Mapped[str | None] = mapped_column(String(50))
    result: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionStatus(StrEnum):
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # waiting for the customer's "yes"
    AWAITING_APPROVAL = "awaiting_approval"  # the customer said yes; staff must approve
    EXECUTING = "executing"  # handed to the store (idempotent on the key)
    EXECUTED = "executed"
    DECLINED = "declined"  # the customer said no or changed the subject
    REJECTED = "rejected"  # staff said no
    EXPIRED = "expired"
    FAILED = "failed"


LIVE_ACTION_STATUSES = (
    ActionStatus.AWAITING_CONFIRMATION,
    ActionStatus.AWAITING_APPROVAL,
    ActionStatus.EXECUTING,
)


class PendingAction(Base):
    """A write the agent proposed. It runs only after the same verified customer's "yes" in the
    same conversation (and a staff approval when the rules say so)."""

    __tablename__ = "pending_actions"
    __table_args__ = (
        # at most one live action per idempotency key; NULL once it is over
        UniqueConstraint("live_key", name="uq_pending_actions_live_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # return | cancel | address_change
    order_number: Mapped[str] = mapped_column(String(30))
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[str] = mapped_column(Text)
    needs_approval: Mapped[bool]
    approval_reason: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(64), index=True)
    live_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(30), index=True)
    confirmed_by_message: Mapped[str | None] = mapped_column(String(32))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
