"""Outbox workers: a claim is a compare-and-set, concurrent workers (SQLite and PostgreSQL) never
deliver a row twice, a crashed worker's lease expires, a comment waits for its ticket, and the
loop wakes on notify."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from helpdesk.outbox import (
    OutboxWorker,
    claim,
    enqueue_comment,
    enqueue_ticket,
    ticket_for_external_id,
    ticket_key,
)
from storage.engine import make_engine, make_sessionmaker
from storage.tables import Base
from storage.tables_helpdesk import HelpdeskTicket, OutboxStatus, as_utc
from tests.helpdesk.outbox_fakes import (  # noqa: F401 (fixtures)
    T0,
    FakeClock,
    FakeZendesk,
    db_url,
    enqueue_tickets,
    make_ticket,
    rows,
    sessions,
    worker,
)
from tests.storage.conftest import postgres_url  # noqa: F401 - the throw-away database fixture

# ---- concurrency -------------------------------------------------------------------------------


async def test_claim_is_a_compare_and_set(sessions: async_sessionmaker[AsyncSession]) -> None:
    [key] = await enqueue_tickets(sessions, 1)
    entry = (await rows(sessions))[key]
    lease = T0 + timedelta(minutes=2)
    async with sessions.begin() as session:
        assert await claim(
            session, entry.id, seen_status="pending", seen_attempts=0, lease_until=lease
        )
    async with sessions.begin() as session:  # a second worker with the same stale read
        assert not await claim(
            session, entry.id, seen_status="pending", seen_attempts=0, lease_until=lease
        )
    row = (await rows(sessions))[key]
    assert row.status == OutboxStatus.DELIVERING and row.attempts == 1


async def test_two_workers_deliver_each_row_once(db_url: str) -> None:
    # two engines on one database file: as close to two processes as a test gets
    engines = [make_engine(db_url), make_engine(db_url)]
    one, two = (make_sessionmaker(engine) for engine in engines)
    desk = FakeZendesk(FakeClock())
    keys = await enqueue_tickets(one, 8)
    try:
        done = await asyncio.gather(
            worker(one, desk).run_once(),
            worker(two, desk).run_once(),
            worker(one, desk).run_once(),
            worker(two, desk).run_once(),
        )
        assert sum(done) == 8
        assert desk.creates() == Counter(dict.fromkeys(keys, 1))
        final = await rows(one)
        assert all(
            row.status == OutboxStatus.DELIVERED and row.attempts == 1 for row in final.values()
        )
        async with one() as session:
            assert await session.scalar(select(func.count()).select_from(HelpdeskTicket)) == 8
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_crashed_workers_row_is_reclaimed_after_the_lease(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    desk = FakeZendesk(FakeClock())
    [key] = await enqueue_tickets(sessions, 1)
    entry = (await rows(sessions))[key]
    async with sessions.begin() as session:  # a worker claimed it, then its process died
        await claim(
            session,
            entry.id,
            seen_status="pending",
            seen_attempts=0,
            lease_until=T0 + timedelta(seconds=120),
        )
    outbox = worker(sessions, desk)
    assert await outbox.run_once() == 0  # still leased
    desk.clock.advance(121)
    assert await outbox.run_once() == 1
    row = (await rows(sessions))[key]
    assert row.status == OutboxStatus.DELIVERED and row.attempts == 2


# ---- comments, the loop ------------------------------------------------------------------------


async def test_a_comment_waits_for_its_ticket(sessions: async_sessionmaker[AsyncSession]) -> None:
    desk = FakeZendesk(FakeClock())
    async with sessions.begin() as session:
        await enqueue_comment(
            session,
            target="zendesk",
            escalation_id="esc-0",
            body="It was a gift",
            public=False,
            idempotency_key="comment:msg-9",
            now=T0,
        )
    outbox = worker(sessions, desk)
    await outbox.run_once()
    comment = (await rows(sessions))["comment:msg-9"]
    assert comment.status == OutboxStatus.PENDING
    assert "not created yet" in (comment.last_error or "")

    await enqueue_tickets(sessions, 1)
    desk.clock.now = as_utc(comment.next_attempt_at)
    assert await outbox.run_once() == 2
    ticket_id = desk.tickets[ticket_key("esc-0")]
    assert [path for path, _ in desk.comments] == [f"/api/v2/tickets/{ticket_id}.json"]
    assert desk.comments[0][1]["ticket"]["comment"]["public"] is False
    async with sessions() as session:
        found = await ticket_for_external_id(
            session, connector="zendesk", external_id=str(ticket_id)
        )
    assert found is not None and found.escalation_id == "esc-0"


async def test_run_forever_stops_and_wakes_on_notify(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    desk = FakeZendesk(FakeClock())
    stop = asyncio.Event()
    outbox = OutboxWorker(
        sessions, {"zendesk": desk.connector()}, clock=desk.clock, poll_interval_s=3600
    )  # real sleep: only notify() can wake it
    task = asyncio.create_task(outbox.run_forever(stop))
    await asyncio.sleep(0.05)
    [key] = await enqueue_tickets(sessions, 1)
    outbox.notify()
    for _ in range(200):
        if (await rows(sessions))[key].status == OutboxStatus.DELIVERED:
            break
        await asyncio.sleep(0.01)
    assert (await rows(sessions))[key].status == OutboxStatus.DELIVERED
    stop.set()
    await asyncio.wait_for(task, timeout=2)


@pytest.mark.postgres
async def test_on_postgres_enqueue_is_idempotent_and_workers_deliver_once(
    postgres_url: str,  # noqa: F811 - the fixture imported above
) -> None:
    from settings import Settings

    url = Settings(database_url=postgres_url).sqlalchemy_url
    engines = [make_engine(url), make_engine(url)]
    one, two = (make_sessionmaker(engine) for engine in engines)
    try:
        async with engines[0].begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

        async def add(sessions: async_sessionmaker[AsyncSession]) -> int:
            async with sessions.begin() as session:
                row = await enqueue_ticket(session, target="zendesk", ticket=make_ticket(0), now=T0)
                return row.id

        ids = await asyncio.gather(add(one), add(two), add(one))
        assert len(set(ids)) == 1
        keys = await enqueue_tickets(one, 6)
        desk = FakeZendesk(FakeClock(T0 + timedelta(seconds=1)))
        done = await asyncio.gather(
            worker(one, desk).run_once(),
            worker(two, desk).run_once(),
            worker(one, desk).run_once(),
            worker(two, desk).run_once(),
        )
        assert sum(done) == 6
        assert desk.creates() == Counter(dict.fromkeys(keys, 1))
    finally:
        for engine in engines:
            await engine.dispose()
