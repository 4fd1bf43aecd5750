"""The retention job: personal data older than `settings.retention_days` goes.

Once a day (and on demand: `support-agent privacy retention [--dry-run]`):
  - conversations whose last activity is older than the cutoff are deleted with their messages,
    pending actions, escalations and outbox rows; stored emails and attachments too, when those
    tables exist;
  - staff alerts and delivered or dead outbox rows older than the cutoff are deleted;
  - order notifications told or skipped before the cutoff, and the poller's snapshots of orders
    unchanged since then, are deleted (pending ones wait to be told; opt-outs stay: they are
    digests, and forgetting one would send to someone who asked us to stop);
  - audit rows older than the cutoff are anonymised (tool, kind, outcome and time stay);
  - throttle hits older than a day are deleted whatever the setting (they only count recent
    events).
`retention_days = 0` keeps everything but the throttle hits. Each run writes a `retention_runs`
row with its counts, started before the work so a run that dies half-way is visible.

Attachment files (under `files_root`, the data dir) go with their rows, removed after the
transactions that deleted the rows have committed; files no row names (a run that died between
the commit and the unlink, an upload whose row was never written) are swept once they are an
hour old. `attachment_files` counts both."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, delete, exists, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.privacy import anonymise_audit, delete_conversations, remove_files
from storage.tables import AuditEntry, Conversation, Escalation, Message, utcnow
from storage.tables_helpdesk import OutboxEntry, OutboxStatus, as_utc
from storage.tables_notify import Notification, NotificationStatus, OrderWatch
from storage.tables_security import RetentionRun, ThrottleHit
from storage.tables_widget import Attachment

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
KEEP_ALL_CUTOFF = datetime(1970, 1, 1, tzinfo=UTC)  # recorded when retention_days is 0
BATCH = 200  # conversations or audit rows per transaction
# tables other features may add (email channel, attachments): purged when present
OPTIONAL_TABLES = ("emails", "email_messages", "inbound_emails", "attachments")
_TIME_COLUMNS = ("created_at", "received_at", "sent_at")
FILES_TABLE, FILES_FOLDER = "attachments", "attachments"  # rows with a `path` under the data dir
ORPHAN_AGE_S = 3600  # a file no row names is swept once this old (uploads write the file first)


@dataclass
class RetentionReport:
    cutoff: datetime
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # of the deleted attachment rows

    def add(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0) + value


async def run_retention(
    sessions: async_sessionmaker[AsyncSession],
    *,
    retention_days: int,
    now: datetime | None = None,
    dry_run: bool = False,
    files_root: Path | None = None,
) -> RetentionReport:
    """One pass. A dry run does the same work in one transaction and rolls it back, so its
    counts are exact; it records no run and removes no file. Without `files_root` attachment
    files are left alone (rows only)."""
    now = now or utcnow()
    keep_all = retention_days <= 0
    cutoff = KEEP_ALL_CUTOFF if keep_all else now - timedelta(days=retention_days)
    report = RetentionReport(cutoff=cutoff, dry_run=dry_run)
    if dry_run:
        async with sessions() as session:
            try:
                await _work(lambda: _same(session), report, now=now, keep_all=keep_all)
                if files_root is not None:
                    # the deleted rows' files look like strays here: count each file once
                    doomed = set(_existing(files_root, report.files))
                    doomed |= set(await _orphans(session, files_root))
                    report.add({"attachment_files": len(doomed)})
            finally:
                await session.rollback()
        return report
    async with sessions.begin() as session:
        run = RetentionRun(started_at=now, cutoff=cutoff, counts={})
        session.add(run)
        await session.flush()
        run_id = run.id
    await _work(sessions.begin, report, now=now, keep_all=keep_all)
    if files_root is not None:  # the rows are committed gone: now their files, and strays
        removed = await asyncio.to_thread(remove_files, files_root, report.files)
        async with sessions() as session:
            strays = await _orphans(session, files_root)
        removed += await asyncio.to_thread(remove_files, files_root, strays)
        report.add({"attachment_files": removed})
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
            report.add(await _notifications(session, cutoff))
            report.add(await _optional_tables(session, optional, cutoff, report.files))
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
            report.add(await _optional_by_conversation(session, optional, ids, report.files))
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


async def _notifications(session: AsyncSession, cutoff: datetime) -> dict[str, int]:
    """Notices told or skipped before the cutoff, and snapshots of orders unchanged since; the
    poller remembers a forgotten order again without telling its past (notifications/events.py)."""
    done = (
        Notification.status != NotificationStatus.PENDING,
        func.coalesce(Notification.sent_at, Notification.created_at) < cutoff,
    )
    stale = OrderWatch.updated_at < cutoff
    counts = {
        "notifications": await _count(session, select(Notification).where(*done)),
        "notification_order_state": await _count(session, select(OrderWatch).where(stale)),
    }
    await session.execute(delete(Notification).where(*done))
    await session.execute(delete(OrderWatch).where(stale))
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
    session: AsyncSession, tables: list[Table], cutoff: datetime, files: list[str]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables:
        column = next((table.c[c] for c in _TIME_COLUMNS if c in table.c), None)
        if column is None:
            continue
        found = await _count(session, select(table).where(column < cutoff))
        counts[table.name] = counts.get(table.name, 0) + found
        if found:
            files.extend(await _paths(session, table, column < cutoff))
            await session.execute(delete(table).where(column < cutoff))
    return counts


async def _optional_by_conversation(
    session: AsyncSession, tables: list[Table], ids: list[str], files: list[str]
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables:
        if "conversation_id" not in table.c:
            continue
        where = table.c.conversation_id.in_(ids)
        counts[table.name] = await _count(session, select(table).where(where))
        files.extend(await _paths(session, table, where))
        await session.execute(delete(table).where(where))
    return counts


async def _paths(session: AsyncSession, table: Table, where: Any) -> list[str]:
    if table.name != FILES_TABLE or "path" not in table.c:
        return []
    return [p for p in await session.scalars(select(table.c.path).where(where)) if p]


def _existing(root: Path, paths: list[str]) -> list[str]:
    return [p for p in paths if (root / p).is_file()]


async def _orphans(session: AsyncSession, root: Path) -> list[str]:
    """Files under <root>/attachments/ older than ORPHAN_AGE_S that no attachment row names."""
    folder = root / FILES_FOLDER
    if not folder.is_dir():
        return []
    limit = time.time() - ORPHAN_AGE_S
    old = [f for f in folder.iterdir() if f.is_file() and f.stat().st_mtime < limit]
    if not old:
        return []
    ids = {f.name.split(".", 1)[0] for f in old}
    known = set(await session.scalars(select(Attachment.id).where(Attachment.id.in_(sorted(ids)))))
    return [f"{FILES_FOLDER}/{f.name}" for f in old if f.name.split(".", 1)[0] not in known]


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
        files_root: Path | None = None,
    ) -> None:
        self._sessions = sessions
        self._files_root = files_root
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
                    await run_retention(
                        self._sessions,
                        retention_days=self._days,
                        now=now,
                        files_root=self._files_root,
                    )
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
