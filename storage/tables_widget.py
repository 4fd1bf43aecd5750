"""Tables of the widget issue (#13) (migration 0006): outcome events and attachments.

`outcome_events` is the one record of how conversations ended, read by the staff console's
analytics and notifications. Kinds (`OutcomeKind`), one row each:
  - `csat`: the customer's rating after a resolve or a hand-back; `score` 1-5,
    `detail = {"comment": str | None, "resolution": int}` (the conversation's owner_version at the
    time, so one rating per resolution: a second rating of the same resolution replaces the first).
  - `turn` (#16): a bot answer; `score` its latency in ms, `detail = {"intent", "engine"}`.
  - `escalation` (#16): a conversation handed to staff; `detail = {"escalation_id", "reason",
    "category", "priority"}`.
  - `first_response` (#16): the first staff message after an escalation (stops its SLA);
    `detail = {"escalation_id"}`, `staff_id` who answered.
  - `resolution` (#16): `detail = {"by": "staff" | "customer", "how": "resolve" | "hand_back" |
    "said_it_helped"}`; `staff_id` for staff.
  - `reopen` (#16): the customer wrote again after a resolve.
  - `approval` (#16): a staff decision on an action: `detail = {"action_id", "outcome":
    "approved" | "rejected" | "expired", "kind"}`.
  Definitions of the figures built on them: docs/metrics.md.
Other issues add kinds here (and say what `score` and `detail` hold) rather than new tables.

`attachments` are the customer's photos (docs/protocol.md): metadata here, the re-encoded bytes
under `<data_dir>/attachments/`, named by id."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, new_id, utcnow


class OutcomeKind(StrEnum):
    CSAT = "csat"
    TURN = "turn"
    ESCALATION = "escalation"
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"
    REOPEN = "reopen"
    APPROVAL = "approval"


class OutcomeEvent(Base):
    __tablename__ = "outcome_events"
    __table_args__ = (Index("ix_outcome_events_kind_created_at", "kind", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # no foreign key: an outcome outlives the conversation's retention only as a number
    conversation_id: Mapped[str | None] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    score: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    channel: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # no foreign key, like the other optional tables the retention job purges by conversation
    # and by age (storage/retention.py counts them itself)
    conversation_id: Mapped[str] = mapped_column(String(32), index=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(200))  # relative to the data dir
    # the customer message it was sent with; NULL while it sits in the widget's tray
    message_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
