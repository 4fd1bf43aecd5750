"""Helpdesk tables: the outbox that carries escalations to a helpdesk, the map from escalations to
the tickets they became, and the replay record for inbound webhooks. Same `Base` as
`storage.tables`, so one metadata (and one Alembic history) covers both."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, utcnow


def as_utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; everything here is stored in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at
    DELIVERING = "delivering"  # claimed by a worker; next_attempt_at is the lease deadline
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up: visible to staff, retried only by hand


class OutboxEntry(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))  # ticket.create | ticket.comment
    target: Mapped[str] = mapped_column(String(40))  # connector name
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(100))  # the helpdesk's ticket id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class HelpdeskTicket(Base):
    """Which helpdesk ticket an escalation became. No foreign key to escalations on purpose: a
    retention purge of the conversation must not orphan replies that still arrive by webhook."""

    __tablename__ = "helpdesk_tickets"
    __table_args__ = (
        UniqueConstraint("connector", "external_id", name="uq_helpdesk_tickets_external"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    escalation_id: Mapped[str] = mapped_column(String(32), unique=True)
    conversation_id: Mapped[str | None] = mapped_column(String(32), index=True)
    connector: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookReplay(Base):
    """Signatures (or body digests) of inbound webhooks already accepted."""

    __tablename__ = "webhook_replay"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # "<source>:<signature>"
    source: Mapped[str] = mapped_column(String(20))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
