"""The retention job: personal data older than `settings.retention_days` goes.

Once a day (and on demand: `support-agent privacy retention [--dry-run]`):
  - conversations whose last activity is older than the cutoff are deleted with their messages,
    pending actions, escalations and outbox rows; stored emails and attachments too, when those
    tables exist;
  - staff alerts and delivered or dead outbox rows older than the cutoff are deleted;
  - audit rows older than the cutoff are anonymised (tool, kind, outcome and time stay);
  - throttle hits older than a day are deleted whatever the setting (they only count recent
    events).
`retention_days = 0` keeps everything but the throttle hits. Each run writes a `retention_runs`
row with its counts, started before the work so a run that dies half-way is visible."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, Table, delete, exists, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.privacy import anonymise_audit, delete_conversations
from storage.tables import AuditEntry, Conversation, Escalation, Message, utcnow
from storage.tables_helpdesk import OutboxEntry, OutboxStatus, as_utc
from storage.tables_security import RetentionRun, ThrottleHit

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
KEEP_ALL_CUTOFF = datetime(1970, 1, 1, tzinfo=UTC)  # recorded when retention_days is 0
BATCH = 200  # conversations or audit rows per transaction
# tables other features may add (email channel, attachments): purged when present
OPTIONAL_TABLES = ("emails", "email_messages", "inbound_emails", "attachments")
_TIME_COLUMNS = ("created_at", "received_at", "sent_at")


@dataclass
class RetentionReport:
    cutoff: datetime
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0) + value


async def run_retention(
    sessions: async_sessionmaker[AsyncSession],
    *,
    retention_days: int,
    now: datetime | None = None,
    dry_run: bool = False,
) -> RetentionReport:
    """One pass. A dry run does the same work in one transaction and rolls it back, so its
    counts are exact; it records no run."""
    now = now or utcnow()
    keep_all = retention_days <= 0
    cutoff = KEEP_ALL_CUTOFF if keep_all else now - timedelta(days=retention_days)
    report = RetentionReport(cutoff=cutoff, dry_run=dry_run)
    if dry_run:
        async with sessions() as session:
            try:
                await _work(lambda: _same(session), report, now=now, keep_all=keep_all)
            finally:
                await session.rollback()
        return report
    async with sessions.begin() as session:
        run = RetentionRun(started_at=now, cutoff=cutoff, counts={})
        session.add(run)
        await session.flush()
        run_id = run.id
    await _work(sessions.begin, report, now=now, keep_all=keep_all)
    async with sessions.begin() as session:
        run = await session.get(RetentionRun, run_id)
        assert run is not None
        run.counts, run.finished_at = dict(report.counts), utcnow()
    log.info("retention run: cutoff %s, %s", cutoff.isoformat(), report.counts)
    return report


Unit = Callable[[], AbstractAsyncContextManager[AsyncSession]]  # one transaction of work


@asynccontextmanager
async def _same(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    yield session


async def _work(unit: Unit, report: RetentionReport, *, now: datetime, keep_all: bool) -> None:
    cutoff = report.cutoff
    if not keep_all:
        async with unit() as session:
            optional = await _tables(session)
        await _conversations(unit, cutoff, report, optional)
        async with unit() as session:
            report.add(await _leftovers(session, cutoff))
            report.add(await _optional_tables(session, optional, cutoff))
        await _audit(unit, cutoff, report)
    async with unit() as session:
        old_hits = ThrottleHit.at < now - DAY
        report.add({"throttle_hits": await _count(session, select(ThrottleHit).where(old_hits))})
        await session.execute(delete(ThrottleHit).where(old_hits))


async def _count(session: AsyncSession, query: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


async def _conversations(
    unit: Unit,
    cutoff: datetime,
    report: RetentionReport,
    optional: list[Table],
) -> None:
    """Conversations idle since before the cutoff (no message after it), in batches."""
    recent = exists().where(
        Message.conversation_id == Conversation.id, Message.created_at >= cutoff
    )
    query = (
        select(Conversation.id)
        .where(Conversation.updated_at < cutoff, ~recent)
        .order_by(Conversation.id)
        .limit(BATCH)
    )
    after = ""
    while True:
        async with unit() as session:
            ids = list(await session.scalars(query.where(Conversation.id > after)))
            if not ids:
                return
            report.add(await delete_conversations(session, ids))
            report.add(await _optional_by_conversation(session, optional, ids))
        after = ids[-1]


async def _leftovers(session: AsyncSession, cutoff: datetime) -> dict[str, int]:
    """Staff alerts (no conversation behind them) and finished outbox rows past the cutoff."""
    alerts = (Escalation.conversation_id.is_(None), Escalation.created_at < cutoff)
    finished = (
        OutboxEntry.status.in_((OutboxStatus.DELIVERED, OutboxStatus.DEAD)),
        OutboxEntry.created_at < cutoff,
    )
    counts = {
        "alerts": await _count(session, select(Escalation).where(*alerts)),
        "outbox": await _count(session, select(OutboxEntry).where(*finished)),
    }
    await session.execute(delete(Escalation).where(*alerts))
    await session.execute(delete(OutboxEntry).where(*finished))
    return counts


async def _audit(unit: Unit, cutoff: datetime, report: RetentionReport) -> None:
    """Anonymises audit rows older than the cutoff, a batch per transaction."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.created_at < cutoff, ~AuditEntry.result.startswith('{"anonymised"'))
        .order_by(AuditEntry.id)
        .limit(BATCH)
    )
    after = 0
    while True:
        async with unit() as session:
            rows = list(await session.scalars(query.where(AuditEntry.id > after)))
            if not rows:
                return
            report.add({"audit_anonymised": len(rows)})
            for entry in rows:
                anonymise_audit(entry)
            await session.flush()
        after = rows[-1].id


async def _tables(session: AsyncSession) -> list[Table]:
    """The optional tables present in this database, reflected."""

    def reflect(connection: Any) -> list[Table]:
        names = set(inspect(connection).get_table_names())
        metadata = MetaData()
        return [Table(n, metadata, autoload_with=connection) for n in OPTIONAL_TABLES if n in names]

    return await (await session.connection()).run_sync(reflect)


async def _optional_tables(
    session: AsyncSession, tables: list[Table], cutoff: datetime
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables:
        column = next((table.c[c] for c in _TIME_COLUMNS if c in table.c), None)
        if column is None:
            continue
        found = await _count(session, select(table).where(column < cutoff))
        counts[table.name] = counts.get(table.name, 0) + found
        if found:
            await session.execute(delete(table).where(column < cutoff))
    return counts


async def _optional_by_conversation(
    session: AsyncSession, tables: list[Table], ids: list[str]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables:
        if "conversation_id" not in table.c:
            continue
        where = table.c.conversation_id.in_(ids)
        counts[table.name] = await _count(session, select(table).where(where))
        await session.execute(delete(table).where(where))
    return counts


async def last_run(sessions: async_sessionmaker[AsyncSession]) -> datetime | None:
    async with sessions() as session:
        started = await session.scalar(select(func.max(RetentionRun.started_at)))
    return as_utc(started) if started is not None else None


class RetentionJob:
    """The daily run, for `Services.start_background` (under a lease with several workers).
    Due a day after the last recorded run, so restarts do not run it more often; the first
    check waits `first_delay`, so start-up work and the first requests go first. `clock` is the
    services' clock: rows stamped by it (throttle hits, actions) are judged by it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        retention_days: int,
        clock: Callable[[], datetime] = utcnow,
        every: timedelta = DAY,
        retry_after: timedelta = timedelta(hours=1),
        first_delay: timedelta = timedelta(minutes=1),
    ) -> None:
        self._sessions = sessions
        self._days = retention_days
        self._clock = clock
        self._every = every
        self._retry_after = retry_after
        self._first_delay = first_delay

    async def run_forever(self, stop: asyncio.Event) -> None:
        wait = self._first_delay.total_seconds()
        while not await _stopped(stop, wait):
            try:
                last = await last_run(self._sessions)
                wait = (last + self._every - self._clock()).total_seconds() if last else 0.0
                if wait <= 0:
                    now = self._clock()
                    await run_retention(self._sessions, retention_days=self._days, now=now)
                    wait = self._every.total_seconds()
            except Exception:  # the database blinked: try again later, keep the worker alive
                log.exception("retention run failed")
                wait = self._retry_after.total_seconds()


async def _stopped(stop: asyncio.Event, wait_s: float) -> bool:
    """Waits up to `wait_s` (at least a second between checks once running); True on stop."""
    if wait_s > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(wait_s, 1.0))
    return stop.is_set()
