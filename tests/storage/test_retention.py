"""The retention job on SQLite and PostgreSQL: rows older than the cutoff deleted or anonymised,
newer rows kept, counts recorded in retention_runs; dry runs change nothing; the daily job is
due a day after the last run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.engine import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.retention import RetentionJob, run_retention
from storage.tables import AuditEntry, Conversation, Escalation, Message, PendingAction
from storage.tables_email import EmailRecord
from storage.tables_helpdesk import OutboxEntry
from storage.tables_security import RetentionRun, ThrottleHit

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=400)
RECENT = NOW - timedelta(days=10)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    pg = request.getfixturevalue("postgres_url")
    return "postgresql+asyncpg://" + pg.split("://", 1)[1]


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(database_url)
    await upgrade(engine)  # the attachments table (migration 0006) is purged too
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _conversation(session: AsyncSession, cid: str, *, at: datetime, last: datetime) -> None:
    session.add(Conversation(id=cid, channel="widget", created_at=at, updated_at=at))
    await session.flush()
    session.add_all(
        [
            Message(conversation_id=cid, seq=1, role="customer", text="hi", created_at=at),
            Message(conversation_id=cid, seq=2, role="assistant", text="hello", created_at=last),
            PendingAction(
                conversation_id=cid,
                customer_id="c1",
                kind="address_change",
                order_number="#1001",
                args={"address": {"line1": "12 Elm Street"}},
                summary="Ship order #1001 to 12 Elm Street instead.",
                needs_approval=False,
                idempotency_key=f"k-{cid}",
                status="executed",
                created_at=at,
                expires_at=at,
            ),
            Escalation(
                id=f"e-{cid}",
                conversation_id=cid,
                reason="customer_request",
                summary="x",
                created_at=at,
            ),
            OutboxEntry(
                kind="ticket.create",
                target="builtin",
                payload={"escalation_id": f"e-{cid}", "conversation_id": cid},
                idempotency_key=f"ticket:e-{cid}",
                status="delivered",
                created_at=at,
            ),
        ]
    )
    await session.execute(
        text(
            "INSERT INTO attachments (id, conversation_id, content_type, size, sha256, path, "
            "created_at) VALUES (:i, :c, 'image/png', 1, '', 'attachments/x', :t)"
        ),
        {"i": f"a-{cid}", "c": cid, "t": at},
    )


def _audit(cid: str, at: datetime) -> AuditEntry:
    return AuditEntry(
        conversation_id=cid,
        actor="customer:c1",
        tool="search_help_center",
        kind="read",
        args={"query": "do you ship to 97201?", "order_number": "#1001"},
        ok=True,
        decision="ok",
        result=json.dumps({"answerable": False, "confidence": 0.1, "passages": [{"t": "x"}]}),
        created_at=at,
    )


async def _seed(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        await _conversation(session, "old", at=OLD, last=OLD)
        await _conversation(session, "new", at=RECENT, last=RECENT)
        # started long ago, written to last week: still in use
        await _conversation(session, "revived", at=OLD, last=RECENT)
        session.add_all(
            [
                _audit("old", OLD),
                _audit("new", RECENT),
                Escalation(kind="alert", reason="verify_wave", summary="a", created_at=OLD),
                Escalation(kind="alert", reason="verify_wave", summary="b", created_at=RECENT),
                ThrottleHit(key="verify:ip:h1", at=NOW - timedelta(days=2)),
                ThrottleHit(key="verify:ip:h1", at=NOW - timedelta(minutes=5)),
                # mail from a robot, suppressed, on no conversation: goes by its own age
                EmailRecord(
                    message_id="<old@robot>", direction="in", action="suppressed", created_at=OLD
                ),
                EmailRecord(
                    message_id="<new@robot>", direction="in", action="suppressed", created_at=RECENT
                ),
            ]
        )


async def _count(sessions: Sessions, table: Any, *where: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(*where)))


async def _attachments(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        rows = await session.execute(text("SELECT id FROM attachments ORDER BY id"))
        return [r[0] for r in rows]


async def test_old_rows_go_newer_rows_stay_and_counts_are_recorded(sessions: Sessions) -> None:
    await _seed(sessions)
    report = await run_retention(sessions, retention_days=365, now=NOW)
    expected = {
        "conversations": 1,
        "messages": 2,
        "pending_actions": 1,
        "escalations": 1,
        # a delivered ticket row and an attachment go by their own age, even in a live
        # conversation
        "outbox": 2,
        "attachments": 2,
        "alerts": 1,
        "audit_anonymised": 1,
        "throttle_hits": 1,
        "email_messages": 1,
        "notifications": 0,  # tests/notifications/test_forgetting.py
        "notification_order_state": 0,
    }
    assert report.counts == expected
    async with sessions() as session:
        kept = set(await session.scalars(select(Conversation.id)))
        assert kept == {"new", "revived"}
        assert set(await session.scalars(select(Message.conversation_id))) == kept
        assert set(await session.scalars(select(PendingAction.conversation_id))) == kept
        escalations = (await session.scalars(select(Escalation))).all()
        assert {e.conversation_id for e in escalations} == {"new", "revived", None}
        assert [e.summary for e in escalations if e.kind == "alert"] == ["b"]
        outbox = (await session.scalars(select(OutboxEntry))).all()
        assert [o.payload["conversation_id"] for o in outbox] == ["new"]
        audit = {a.conversation_id: a for a in await session.scalars(select(AuditEntry))}
        old, new = audit["old"], audit["new"]
        # anonymised: the tool, outcome and time stay, nothing points to a person
        assert (old.tool, old.kind, old.ok, old.decision) == (
            "search_help_center",
            "read",
            True,
            "ok",
        )
        assert old.created_at.replace(tzinfo=UTC) == OLD
        assert old.actor == "customer" and old.args == {}
        assert json.loads(old.result) == {"anonymised": True, "answerable": False}
        assert new.actor == "customer:c1" and new.args["order_number"] == "#1001"
        assert json.loads(new.result)["passages"] == [{"t": "x"}]
        hits = (await session.scalars(select(ThrottleHit))).all()
        assert [h.at.replace(tzinfo=UTC) for h in hits] == [NOW - timedelta(minutes=5)]
        runs = (await session.scalars(select(RetentionRun))).all()
    assert await _attachments(sessions) == ["a-new"]
    assert len(runs) == 1 and runs[0].counts == expected
    assert runs[0].cutoff.replace(tzinfo=UTC) == NOW - timedelta(days=365)
    assert runs[0].finished_at is not None

    again = await run_retention(sessions, retention_days=365, now=NOW)
    assert set(again.counts.values()) == {0}
    assert await _count(sessions, RetentionRun) == 2


async def test_dry_run_counts_and_changes_nothing(sessions: Sessions) -> None:
    await _seed(sessions)
    report = await run_retention(sessions, retention_days=365, now=NOW, dry_run=True)
    assert report.counts["conversations"] == 1 and report.counts["audit_anonymised"] == 1
    assert report.counts["throttle_hits"] == 1 and report.counts["attachments"] == 2
    assert report.counts["outbox"] == 2 and report.counts["messages"] == 2
    assert await _count(sessions, Conversation) == 3
    assert await _count(sessions, Message) == 6
    assert await _count(sessions, ThrottleHit) == 2
    assert await _count(sessions, AuditEntry, AuditEntry.actor == "customer:c1") == 2
    assert await _count(sessions, RetentionRun) == 0
    assert len(await _attachments(sessions)) == 3


async def test_zero_days_keeps_everything_but_throttle_hits(sessions: Sessions) -> None:
    await _seed(sessions)
    report = await run_retention(sessions, retention_days=0, now=NOW)
    assert report.counts == {"throttle_hits": 1}
    assert await _count(sessions, Conversation) == 3
    assert await _count(sessions, AuditEntry, AuditEntry.actor == "customer:c1") == 2
    assert await _count(sessions, Escalation) == 5
    async with sessions() as session:
        run = await session.scalar(select(RetentionRun))
    assert run is not None and run.cutoff.year == 1970


async def _runs_after(sessions: Sessions, job: RetentionJob, expected: int) -> int:
    """Runs the job until `expected` runs are recorded (or a bounded number of checks), then
    stops it; returns the number of runs recorded."""
    stop = asyncio.Event()
    task = asyncio.create_task(job.run_forever(stop))
    for _ in range(200):
        async with sessions() as session:
            done = await session.scalar(
                select(func.count())
                .select_from(RetentionRun)
                .where(RetentionRun.finished_at.is_not(None))
            )
        if done >= expected:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    return await _count(sessions, RetentionRun)


async def test_the_daily_job_runs_when_due(sessions: Sessions) -> None:
    await _seed(sessions)
    job = RetentionJob(sessions, retention_days=365, first_delay=timedelta(0))
    assert await _runs_after(sessions, job, 1) == 1  # no run yet: due at once
    assert await _count(sessions, Conversation) == 2
    # a restart an hour later does not run it again
    later = RetentionJob(
        sessions,
        retention_days=365,
        clock=lambda: datetime.now(UTC) + timedelta(hours=1),
        first_delay=timedelta(0),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(later.run_forever(stop))
    await asyncio.sleep(0.1)
    stop.set()
    await task
    assert await _count(sessions, RetentionRun) == 1
    # a day and more after the last run it is due again
    tomorrow = RetentionJob(
        sessions,
        retention_days=365,
        clock=lambda: datetime.now(UTC) + timedelta(days=1, hours=1),
        first_delay=timedelta(0),
    )
    assert await _runs_after(sessions, tomorrow, 2) == 2


async def test_the_server_starts_the_job_under_its_own_lease(make_services: Any) -> None:
    from storage.tables_security import Lease

    services = await make_services()
    services.start_background()
    names: set[str] = set()
    for _ in range(200):
        async with services.sessions() as session:
            names = set(await session.scalars(select(Lease.name)))
        if "retention" in names:
            break
        await asyncio.sleep(0.05)
    assert {"retention", "outbox"} <= names


async def test_attachment_files_go_with_their_rows_and_strays_are_swept(
    sessions: Sessions, tmp_path: Path
) -> None:
    """Files of the rows deleted by age and with deleted conversations are removed after the
    commit; a file no row names is swept once an hour old; the rest stay. A dry run removes
    nothing and counts the same files."""
    import os
    import time

    root = tmp_path / "data"
    folder = root / "attachments"
    folder.mkdir(parents=True)
    await _seed(sessions)
    async with sessions.begin() as session:  # distinct files for the seeded rows
        for aid in ("a-old", "a-new", "a-revived"):
            await session.execute(
                text("UPDATE attachments SET path = :p WHERE id = :i"),
                {"p": f"attachments/{aid}.png", "i": aid},
            )
    for aid in ("a-old", "a-new", "a-revived"):
        (folder / f"{aid}.png").write_bytes(b"png")
    hour_ago = time.time() - 7200
    stray, fresh = folder / "gone.jpg", folder / "uploading.jpg"
    stray.write_bytes(b"jpg")
    fresh.write_bytes(b"jpg")  # an upload whose row is about to be written
    os.utime(stray, (hour_ago, hour_ago))
    outside = tmp_path / "keep.txt"
    outside.write_text("not ours")

    dry = await run_retention(sessions, retention_days=365, now=NOW, dry_run=True, files_root=root)
    assert dry.counts["attachment_files"] == 3
    assert sorted(f.name for f in folder.iterdir()) == [
        "a-new.png",
        "a-old.png",
        "a-revived.png",
        "gone.jpg",
        "uploading.jpg",
    ]

    report = await run_retention(sessions, retention_days=365, now=NOW, files_root=root)
    assert report.counts["attachments"] == 2 and report.counts["attachment_files"] == 3
    assert sorted(f.name for f in folder.iterdir()) == ["a-new.png", "uploading.jpg"]
    assert await _attachments(sessions) == ["a-new"] and outside.exists()
