"""Leases: one worker runs a singleton job; a dead holder's lease lapses; a conversation's turns
are claimed by one worker at a time. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from storage import leases, repo
from storage.tables import utcnow


async def test_a_lease_has_one_holder_until_it_lapses(sessions: Any) -> None:
    assert await leases.acquire(sessions, "outbox", "w1", ttl_s=30)
    assert not await leases.acquire(sessions, "outbox", "w2", ttl_s=30)
    assert await leases.acquire(sessions, "outbox", "w1", ttl_s=30)  # renewal
    later = utcnow() + timedelta(seconds=31)
    assert await leases.acquire(sessions, "outbox", "w2", ttl_s=30, now=later)  # w1 died
    assert not await leases.acquire(sessions, "outbox", "w1", ttl_s=30, now=later)
    await leases.release(sessions, "outbox", "w2")
    assert await leases.acquire(sessions, "outbox", "w1", ttl_s=30)


async def test_two_workers_race_for_a_new_lease_and_one_wins(sessions: Any) -> None:
    results = await asyncio.gather(
        *(leases.acquire(sessions, "imap", f"w{i}", ttl_s=30) for i in range(6))
    )
    assert sum(results) == 1


async def test_singleton_job_runs_in_one_worker_and_moves_when_it_stops(sessions: Any) -> None:
    running: list[str] = []

    def job_for(name: str) -> Any:
        async def job(stop: asyncio.Event) -> None:
            running.append(name)
            await stop.wait()
            running.remove(name)

        return job

    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(
        leases.run_as_singleton(
            sessions, "poller", job_for("a"), stop_a, holder="a", ttl_s=1.0, renew_s=0.2
        )
    )
    await asyncio.sleep(0.3)
    b = asyncio.create_task(
        leases.run_as_singleton(
            sessions, "poller", job_for("b"), stop_b, holder="b", ttl_s=1.0, renew_s=0.2
        )
    )
    await asyncio.sleep(0.6)
    assert running == ["a"]
    stop_a.set()  # worker a shuts down: it stops its job and gives the lease back
    await a
    for _ in range(50):
        if running == ["b"]:
            break
        await asyncio.sleep(0.1)
    assert running == ["b"]
    stop_b.set()
    await b
    assert running == []


async def test_turn_claims_are_exclusive_per_conversation(sessions: Any) -> None:
    async with sessions.begin() as session:
        one = await repo.create_conversation(session, channel="test")
        two = await repo.create_conversation(session, channel="test")
    async with sessions.begin() as session:
        assert await leases.claim_turn(session, one.id, "w1", ttl_s=30)
    async with sessions.begin() as session:
        assert not await leases.claim_turn(session, one.id, "w2", ttl_s=30)
        assert await leases.claim_turn(session, two.id, "w2", ttl_s=30)
    async with sessions.begin() as session:
        await leases.release_turn(session, one.id, "w2")  # not w2's: nothing happens
    async with sessions.begin() as session:
        assert not await leases.claim_turn(session, one.id, "w2", ttl_s=30)
        await leases.release_turn(session, one.id, "w1")
    async with sessions.begin() as session:
        assert await leases.claim_turn(session, one.id, "w2", ttl_s=30)
