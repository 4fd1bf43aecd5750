"""What a tool may know beyond its arguments: the conversation, the verified customer and the
services. It travels through LangChain's runtime context and is never shown to the model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerce.backend import StoreBackend
from commerce.policy import StorePolicy
from knowledge.types import Passage, SearchResult
from settings import Settings
from storage.throttle import Throttle


@runtime_checkable
class KnowledgeSearch(Protocol):
    def search(self, query: str, k: int = 4) -> SearchResult: ...


@dataclass(frozen=True)
class ToolDeps:
    """The services tools use; built once by services.py."""

    settings: Settings
    store: StoreBackend
    knowledge: KnowledgeSearch
    sessions: async_sessionmaker[AsyncSession]
    policy: StorePolicy
    # failure lock-outs and caps that outlive a conversation (storage/throttle.py)
    throttle: Throttle
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # text -> {"category", "urgency", "sentiment", "language", "confidence"}; None: no triage
    triage: Callable[[str], dict[str, Any]] | None = None
    on_escalation: Callable[[], None] | None = None  # wakes the outbox worker after a commit


@dataclass
class ToolCallRecord:
    name: str
    args: dict[str, Any]
    ok: bool


@dataclass
class SupportContext:
    """Per-turn state. `customer_id` is loaded from the conversation row and changes only through
    verify_customer; tools never take identity from the model's arguments."""

    conversation_id: str
    channel: str
    deps: ToolDeps
    owner_version: int
    customer_id: str | None = None
    failed_verifications: int = 0
    customer_text: str = ""  # the message this turn answers (for triage of escalations)
    # the customer's messages before it (oldest first, a few): what a handoff is about when this
    # turn's message only accepts an offer ("yes please")
    earlier_customer_texts: tuple[str, ...] = ()
    # set by the channel from the connection (web/clientip.py), never by the model; None when
    # the channel has no network peer (email, CLI)
    client_ip: str | None = None
    # the offline engine's dialogue state as the last turn left it (conversations.engine_state)
    engine_state: dict[str, Any] | None = None
    orders: dict[str, Any] = field(default_factory=dict)  # read this turn, by number
    escalation: tuple[str, str] | None = None  # (escalation id, reason) raised this turn
    passages: list[Passage] = field(default_factory=list)  # retrieved this turn, answerable
    # every passage an answerable search returned, those under the floor too: the offline engine
    # quotes the one that answers best among them, and cites the one it quoted
    offered: list[Passage] = field(default_factory=list)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    # audit rows of READ tools, written with the turn's final commit; WRITE tools audit at once
    pending_audit: list[dict[str, Any]] = field(default_factory=list)
