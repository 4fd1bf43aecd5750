"""The outbox worker: claims due rows (compare-and-set, so workers never share one), delivers
them through the connectors, and schedules retries with backoff and jitter or dead-letters them."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from helpdesk.connectors.base import Connector, DeliveryError, TicketPayload, TicketRef
from helpdesk.outbox import (  # defined before outbox.py imports this module
    _LIVE,
    TICKET_COMMENT,
    TICKET_CREATE,
    RetryPolicy,
    _insert,
    _transition,
    claim,
)
from masking import mask_args, mask_text
from storage.tables import utcnow
from storage.tables_helpdesk import HelpdeskTicket, OutboxEntry, OutboxStatus, as_utc

log = logging.getLogger(__name__)


def delivered_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """What a delivered row keeps: the helpdesk holds the ticket now, so the transcript goes and
    the rest (ids, category, tags) stays with personal fields masked."""
    kept = {k: v for k, v in payload.items() if k != "transcript"}
    if "transcript" in payload:
        kept["transcript_lines"] = len(payload.get("transcript") or [])
    return mask_args(kept)


@dataclass(frozen=True)
class _Claim:
    id: int
    kind: str
    target: str
    payload: dict[str, Any]
    key: str
    attempt: int


class OutboxWorker:
    """Delivers due rows. Any number of workers may run against the same database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        connectors: Mapping[str, Connector],
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        policy: RetryPolicy | None = None,
        batch_size: int = 20,
        poll_interval_s: float = 5.0,
        senders: Mapping[str, Callable[[dict[str, Any], str], Awaitable[str]]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._connectors = dict(connectors)
        # other outbox kinds (the email channel's "email.send"): kind -> send(payload, key),
        # returning the id the receiving side knows the delivery by
        self.senders = dict(senders or {})
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.policy = policy or RetryPolicy()
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._wakeup = asyncio.Event()

    def notify(self) -> None:
        """Call after committing an enqueue: the worker stops idling and delivers at once."""
        self._wakeup.set()

    async def run_once(self) -> int:
        """Claims the rows due now and attempts each once. Returns how many it attempted."""
        claims = await self._claim_due()
        for item in claims:
            await self._deliver(item)
        return len(claims)

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if await self.run_once():
                    continue
                delay = await self._idle_delay()
            except Exception:  # the database blinked: keep the worker alive, try again later
                log.exception("outbox worker cycle failed")
                delay = self._poll_interval_s
            await self._wait(delay, stop)

    async def _wait(self, delay: float, stop: asyncio.Event) -> None:
        waiters = [
            asyncio.ensure_future(self._sleep(delay)),
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(self._wakeup.wait()),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            self._wakeup.clear()

    async def _idle_delay(self) -> float:
        async with self._sessions() as session:
            due = await session.scalar(
                select(func.min(OutboxEntry.next_attempt_at)).where(OutboxEntry.status.in_(_LIVE))
            )
        if due is None:
            return self._poll_interval_s
        wait = (as_utc(due) - self._clock()).total_seconds()
        return min(max(wait, 0.0), self._poll_interval_s)

    async def _claim_due(self) -> list[_Claim]:
        now = self._clock()
        async with self._sessions() as session:
            candidates = (
                await session.execute(
                    select(OutboxEntry.id, OutboxEntry.status, OutboxEntry.attempts)
                    .where(OutboxEntry.status.in_(_LIVE), OutboxEntry.next_attempt_at <= now)
                    .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id)
                    .limit(self._batch_size)
                )
            ).all()
        lease_until = now + timedelta(seconds=self.policy.lease_s)
        claims: list[_Claim] = []
        for entry_id, status, attempts in candidates:
            async with self._sessions.begin() as session:
                if not await claim(
                    session,
                    entry_id,
                    seen_status=status,
                    seen_attempts=attempts,
                    lease_until=lease_until,
                ):
                    continue  # another worker got there first
                row = await session.get_one(OutboxEntry, entry_id)
                claims.append(
                    _Claim(
                        id=row.id,
                        kind=row.kind,
                        target=row.target,
                        payload=dict(row.payload),
                        key=row.idempotency_key,
                        attempt=attempts + 1,
                    )
                )
        return claims

    async def _deliver(self, item: _Claim) -> None:
        try:
            ref = await self._dispatch(item)
        except DeliveryError as exc:
            await self._failed(item, str(exc), retryable=exc.retryable, retry_after=exc.retry_after)
        except Exception as exc:  # a connector bug or an unforeseen error: retry, bounded
            log.exception("outbox delivery %s crashed", item.id)
            await self._failed(item, f"{type(exc).__name__}: {exc}", retryable=True)
        else:
            await self._delivered(item, ref)

    async def _dispatch(self, item: _Claim) -> TicketRef:
        if (send := self.senders.get(item.kind)) is not None:
            return TicketRef(external_id=await send(item.payload, item.key))
        connector = self._connectors.get(item.target)
        if connector is None:
            raise DeliveryError(f"no connector named {item.target!r}", retryable=False)
        if item.kind == TICKET_CREATE:
            try:
                ticket = TicketPayload.model_validate(item.payload)
            except ValidationError as exc:
                raise DeliveryError(f"invalid ticket payload: {exc}", retryable=False) from exc
            return await connector.create_ticket(ticket, item.key)
        if item.kind == TICKET_COMMENT:
            external_id = item.payload.get("external_id") or await self._ticket_id(item)
            await connector.add_comment(
                external_id,
                str(item.payload["body"]),
                bool(item.payload.get("public", False)),
                idempotency_key=item.key,
            )
            return TicketRef(external_id=external_id)
        raise DeliveryError(f"unknown outbox kind {item.kind!r}", retryable=False)

    async def _ticket_id(self, item: _Claim) -> str:
        async with self._sessions() as session:
            external_id = await session.scalar(
                select(HelpdeskTicket.external_id).where(
                    HelpdeskTicket.escalation_id == item.payload.get("escalation_id"),
                    HelpdeskTicket.connector == item.target,
                )
            )
        if external_id is None:
            raise DeliveryError("the escalation's ticket is not created yet", retryable=True)
        return external_id

    async def _delivered(self, item: _Claim, ref: TicketRef) -> None:
        now = self._clock()
        values = {
            "status": OutboxStatus.DELIVERED,
            "external_id": ref.external_id,
            "delivered_at": now,
            "last_error": None,
            "payload": delivered_payload(item.payload),
        }
        async with self._sessions.begin() as session:
            expect = (OutboxStatus.DELIVERING, item.attempt)
            if not await _transition(session, item.id, expect=expect, values=values):
                log.warning("outbox %s: lease lost before marking delivered", item.id)
                return
            if item.kind == TICKET_CREATE:
                await session.execute(
                    _insert(session)(HelpdeskTicket)
                    .values(
                        escalation_id=item.payload["escalation_id"],
                        conversation_id=item.payload.get("conversation_id"),
                        connector=item.target,
                        external_id=ref.external_id,
                        url=ref.url,
                        created_at=now,
                    )
                    .on_conflict_do_nothing()
                )

    async def _failed(
        self, item: _Claim, error: str, *, retryable: bool, retry_after: float | None = None
    ) -> None:
        now = self._clock()
        # a helpdesk's error text may quote the ticket (requester, transcript): masked
        values: dict[str, Any] = {
            "last_error": mask_text(f"attempt {item.attempt}: {error}")[:2000]
        }
        if retryable and item.attempt < self.policy.max_attempts:
            delay = self.policy.delay(item.attempt, self._rng, retry_after)
            values["status"] = OutboxStatus.PENDING
            values["next_attempt_at"] = now + timedelta(seconds=delay)
        else:
            values["status"] = OutboxStatus.DEAD
            log.error("outbox %s (%s) is dead: %s", item.id, item.key, error)
        async with self._sessions.begin() as session:
            expect = (OutboxStatus.DELIVERING, item.attempt)
            await _transition(session, item.id, expect=expect, values=values)
