"""What a turn emits, before any channel turns it into frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Accepted:
    """The customer's message is committed: safe to acknowledge."""

    conversation_id: str
    message_id: str
    client_id: str | None
    created: bool  # the conversation was started by this message
    owner: str


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class TokenReset:
    """Drop the tokens streamed so far this turn: the engine that wrote them failed mid-reply
    and another (the offline fallback, or a handoff) answers the turn instead."""


@dataclass(frozen=True)
class ToolStatus:
    tool: str
    status: str  # started | finished | failed
    label: str


@dataclass(frozen=True)
class Escalated:
    escalation_id: str
    reason: str


@dataclass(frozen=True)
class Citation:
    id: str
    title: str
    source: str | None = None


@dataclass(frozen=True)
class ToolCall:
    name: str
    args: dict[str, Any]
    ok: bool


@dataclass(frozen=True)
class TurnResult:
    """The end of a turn. `message_id` is None when no bot reply was sent (a human owns the
    conversation, or ownership changed while the bot was thinking)."""

    conversation_id: str
    message_id: str | None
    text: str
    owner: str
    created_at: datetime
    client_id: str | None = None
    citations: list[Citation] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    escalation: Escalated | None = None


TurnEvent = Accepted | Token | TokenReset | ToolStatus | Escalated | TurnResult
