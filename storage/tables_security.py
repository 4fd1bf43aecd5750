"""Tables for abuse limits and data retention: throttle hits (failed verifications, message and
connection rates, escalation caps) and the record of each retention run. Same `Base` as
`storage.tables`, so one metadata (and one Alembic history) covers them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, utcnow


class ThrottleHit(Base):
    """One counted event under a throttle key ("verify:order:#1043", "verify:ip:1.2.3.4", ...).
    A key's count is the number of its rows inside the window; old rows are pruned."""

    __tablename__ = "throttle_hits"
    __table_args__ = (Index("ix_throttle_hits_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RetentionRun(Base):
    """One run of the retention job: what it deleted or anonymised (counts only)."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    cutoff: Mapped[datetime]
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Lease(Base):
    """Who runs a singleton job (the outbox poller, IMAP, notifications) among N workers: the
    holder renews before `expires_at`; a dead holder's lease lapses and another worker takes it."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]
