"""One bot turn at a time per conversation.

In one process an asyncio lock per conversation is enough: the messages of a conversation are
answered in the order they came. With N workers (`serve --workers N`, which needs Redis) two
sockets of one conversation may sit on two workers, so the order is kept in the database: a
turn lease on the conversation row (storage/leases.py), claimed in the turn's first
transaction and released in the transaction that commits the reply. A message that finds the
lease held waits, unacknowledged, and tries again.

Without Redis there is only one serving process, and the lease's two UPDATEs per turn (about
an eighth of a turn's database time on SQLite) buy nothing: `TurnOrder(across_workers=False)`
keeps the in-process lock only.

Each turn gets its own `TurnClaim`, which knows whether its lease is still held: a turn that
fails before its final commit gives the lease back at once instead of leaving the
conversation blocked until the lease lapses."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from errors import ProtocolError
from storage import leases

log = logging.getLogger(__name__)

# a conversation's turn lease: a worker that dies mid-turn holds it this long at most
TURN_LEASE_S = 45.0
TURN_WAIT_S = 0.05

T = TypeVar("T")


class TurnClaim:
    """The turn lease of one turn on one conversation (a no-op without workers)."""

    def __init__(self, order: TurnOrder, conversation_id: str | None = None) -> None:
        self._order = order
        self.conversation_id = conversation_id
        self.held = False

    async def claim(self, session: AsyncSession, conversation_id: str) -> bool:
        """Inside the caller's transaction: True when this turn may run now."""
        self.conversation_id = conversation_id
        if not self._order.across_workers:
            return True
        self.held = await leases.claim_turn(
            session, conversation_id, self._order.holder, ttl_s=self._order.ttl_s
        )
        return self.held

    @property
    def lease_terms(self) -> tuple[str, float] | None:
        """(holder, ttl_s) of the lease this turn takes; None without workers (no lease)."""
        return (self._order.holder, self._order.ttl_s) if self._order.across_workers else None

    def taken(self, conversation_id: str) -> None:
        """The caller's transaction took the lease on `conversation_id` (with lease_terms)."""
        self.conversation_id = conversation_id
        self.held = True

    @property
    def lease_holder(self) -> str | None:
        """Who holds the lease for this turn (None when no lease is held): for a statement that
        releases it along with other work (storage/repo.py finish_turn)."""
        return self._order.holder if self.held else None

    async def release(self, session: AsyncSession) -> None:
        """Inside the caller's transaction (the one that commits the reply): the lease goes
        with it. The flag is only trusted once that transaction commits (see `settled`)."""
        if self.held and self.conversation_id is not None:
            await leases.release_turn(session, self.conversation_id, self._order.holder)

    def settled(self) -> None:
        """The transaction that released the lease has committed."""
        self.held = False

    async def give_back(self) -> None:
        """The turn ended without its final commit: release the lease in a transaction of
        its own (it lapses by itself after TURN_LEASE_S if even that fails)."""
        if not self.held or self.conversation_id is None:
            return
        try:
            async with self._order.sessions.begin() as session:
                await leases.release_turn(session, self.conversation_id, self._order.holder)
            self.held = False
        except Exception:
            log.warning(
                "could not release the turn lease of %s", self.conversation_id, exc_info=True
            )


class TurnOrder:
    """Hands out turns: the in-process lock of a conversation, and across workers its lease."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        across_workers: bool,
        holder: str | None = None,
        ttl_s: float = TURN_LEASE_S,
        wait_s: float = TURN_WAIT_S,
    ) -> None:
        self.sessions = sessions
        self.across_workers = across_workers
        self.holder = holder or leases.worker_id()
        self.ttl_s = ttl_s
        self.wait_s = wait_s
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    @asynccontextmanager
    async def turn(self, conversation_id: str | None) -> AsyncIterator[TurnClaim]:
        """The turn of one message: the conversation's lock held throughout, and the claim
        given back on the way out if the turn did not release it with its reply."""
        claim = TurnClaim(self, conversation_id)
        try:
            if conversation_id is None:  # a new conversation: nobody else can know it yet
                yield claim
            else:
                async with self._lock(conversation_id):
                    yield claim
        finally:
            await claim.give_back()

    async def until_claimed(self, attempt: Callable[[], Awaitable[T | None]]) -> T:
        """Runs `attempt` (one transaction that claims the lease, or returns None when the
        lease is held elsewhere) until it succeeds; a message that waited longer than a lease
        lasts is refused ("busy") before it is acknowledged."""
        waited = 0.0
        while True:
            done = await attempt()
            if done is not None:
                return done
            if waited > self.ttl_s:
                raise ProtocolError(
                    "busy", "The previous message is still being answered. Please retry."
                )
            await asyncio.sleep(self.wait_s)
            waited += self.wait_s
