"""The outbox: committed with the escalation, delivered exactly once however long the helpdesk
is down, backoff with full jitter, rate limits, and dead letters staff can retry."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from helpdesk.outbox import (
    RetryPolicy,
    dead_letters,
    enqueue,
    enqueue_ticket,
    outbox_counts,
    retry_dead,
    ticket_key,
)
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


class MaxRng(random.Random):
    """Always the top of the jitter range."""

    def uniform(self, _a: float, b: float) -> float:
        return b


# ---- enqueue -----------------------------------------------------------------------------------


async def test_the_row_commits_or_rolls_back_with_the_callers_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with sessions.begin() as session:
            await enqueue_ticket(session, target="zendesk", ticket=make_ticket(1))
            raise Boom  # e.g. the escalation insert failed after the enqueue
    assert await rows(sessions) == {}

    async with sessions.begin() as session:
        first = await enqueue_ticket(session, target="zendesk", ticket=make_ticket(1))
        again = await enqueue_ticket(session, target="zendesk", ticket=make_ticket(1))
        assert again.id == first.id
    async with sessions.begin() as session:  # and in a later transaction too
        later = await enqueue(
            session,
            kind="ticket.create",
            target="zendesk",
            payload={"other": True},
            idempotency_key=ticket_key("esc-1"),
        )
        assert later.id == first.id and later.payload["escalation_id"] == "esc-1"
    assert list(await rows(sessions)) == [ticket_key("esc-1")]


# ---- the outage --------------------------------------------------------------------------------


async def test_helpdesk_down_for_five_minutes_then_back_files_exactly_one_ticket_each(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock()
    desk = FakeZendesk(clock, down_until=T0 + timedelta(seconds=300))
    keys = await enqueue_tickets(sessions, 3)
    stop = asyncio.Event()
    attempts_at: dict[str, list[datetime]] = {key: [] for key in keys}

    async def fake_sleep(seconds: float) -> None:
        assert seconds >= 0
        clock.advance(seconds)
        if all(row.status == OutboxStatus.DELIVERED for row in (await rows(sessions)).values()):
            stop.set()
        assert clock.now < T0 + timedelta(hours=2), "the outbox never caught up"

    outbox = worker(sessions, desk, sleep=fake_sleep, rng=random.Random(1234))
    original_deliver = outbox._deliver

    async def spy(item: Any) -> None:  # when each row was attempted, by the fake clock
        attempts_at[item.key].append(clock.now)
        await original_deliver(item)

    outbox._deliver = spy  # type: ignore[method-assign]
    await asyncio.wait_for(outbox.run_forever(stop), timeout=60)

    # exactly one successful create per escalation, and the helpdesk holds exactly three tickets
    assert desk.creates() == Counter(dict.fromkeys(keys, 1))
    assert set(desk.tickets) == set(keys)
    final = await rows(sessions)
    async with sessions() as session:
        mapped = {t.escalation_id: t for t in (await session.scalars(select(HelpdeskTicket)))}
    for i, key in enumerate(keys):
        row = final[key]
        assert row.status == OutboxStatus.DELIVERED
        assert row.external_id == str(desk.tickets[key])
        assert row.last_error is None and row.delivered_at is not None
        assert as_utc(row.delivered_at) >= T0 + timedelta(seconds=300)
        assert row.attempts == len(attempts_at[key]) > 1  # attempts are counted
        assert mapped[f"esc-{i}"].external_id == row.external_id
        assert mapped[f"esc-{i}"].url == f"https://acme.zendesk.com/agent/tickets/{row.external_id}"
        assert mapped[f"esc-{i}"].conversation_id == f"conv-{i}"

    # the waits are jittered within bounds that double each attempt (up to the cap)
    policy = outbox.policy
    waits: list[float] = []
    for times in attempts_at.values():
        for n, (before, after) in enumerate(zip(times, times[1:], strict=False), start=1):
            wait = (after - before).total_seconds()
            assert 0 <= wait <= policy.bound(n) + 1e-3, (n, wait)
            waits.append(wait)
    assert len({round(w, 3) for w in waits}) > len(waits) // 2  # not a fixed schedule
    assert max(len(t) for t in attempts_at.values()) >= 5  # the bound grew to cover 300 s


def test_backoff_bounds_double_up_to_the_cap_and_honour_retry_after() -> None:
    policy = RetryPolicy(base_s=2, cap_s=600)
    top = MaxRng()
    assert [policy.delay(n, top) for n in range(1, 12)] == [
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        512,
        600,
        600,
    ]
    rng = random.Random(99)
    for n in range(1, 30):
        samples = [policy.delay(n, rng) for _ in range(50)]
        assert all(0 <= s <= policy.bound(n) for s in samples)
        assert len(set(samples)) == 50  # jittered
    assert policy.delay(1, rng, retry_after=120) >= 120  # the helpdesk's wish is a floor
    assert policy.delay(1, rng, retry_after=10**6) == policy.max_retry_after_s


async def test_a_lost_response_does_not_file_a_second_ticket(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    desk = FakeZendesk(FakeClock(), lose_first_response=True)
    [key] = await enqueue_tickets(sessions, 1)
    outbox = worker(sessions, desk)

    assert await outbox.run_once() == 1  # created on Zendesk, but we never heard back
    row = (await rows(sessions))[key]
    assert row.status == OutboxStatus.PENDING and "ReadTimeout" in (row.last_error or "")
    desk.clock.now = as_utc(row.next_attempt_at)
    assert await outbox.run_once() == 1  # the lookup finds the first ticket

    row = (await rows(sessions))[key]
    assert row.status == OutboxStatus.DELIVERED and row.attempts == 2
    assert row.external_id == str(desk.tickets[key])
    assert desk.creates() == Counter({key: 1})
    assert [verb for _, verb, _, _ in desk.log] == ["lookup", "create", "lookup"]


async def test_a_rate_limit_waits_at_least_retry_after(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    desk = FakeZendesk(FakeClock(), refuse_with=httpx.Response(429, headers={"Retry-After": "120"}))
    [key] = await enqueue_tickets(sessions, 1)
    await worker(sessions, desk).run_once()
    row = (await rows(sessions))[key]
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert as_utc(row.next_attempt_at) >= T0 + timedelta(seconds=120)
    assert "HTTP 429" in (row.last_error or "")


# ---- dead letters ------------------------------------------------------------------------------


async def test_a_400_is_dead_at_once_and_staff_can_retry_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    desk = FakeZendesk(
        FakeClock(), refuse_with=httpx.Response(400, json={"error": "Requester email is invalid"})
    )
    [key] = await enqueue_tickets(sessions, 1)
    outbox = worker(sessions, desk)
    assert await outbox.run_once() == 1
    assert await outbox.run_once() == 0  # nothing is retried automatically

    async with sessions() as session:
        [dead] = await dead_letters(session)
        assert await outbox_counts(session) == {"dead": 1}
    assert dead.idempotency_key == key and dead.attempts == 1
    assert "HTTP 400" in (dead.last_error or "") and "Requester email is invalid" in (
        dead.last_error or ""
    )

    desk.refuse_with = None  # staff fixed the data or the helpdesk's configuration
    async with sessions.begin() as session:
        assert await retry_dead(session, dead.id, now=desk.clock())
        assert not await retry_dead(session, dead.id)  # only dead rows can be revived
    assert await outbox.run_once() == 1
    row = (await rows(sessions))[key]
    assert row.status == OutboxStatus.DELIVERED and row.attempts == 1
    assert desk.creates() == Counter({key: 1})


async def test_retries_are_bounded_then_dead(sessions: async_sessionmaker[AsyncSession]) -> None:
    desk = FakeZendesk(FakeClock(), refuse_with=httpx.Response(502, text="bad gateway"))
    [key] = await enqueue_tickets(sessions, 1)
    outbox = worker(sessions, desk, policy=RetryPolicy(max_attempts=4))
    for _ in range(10):
        await outbox.run_once()
        row = (await rows(sessions))[key]
        if row.status == OutboxStatus.DEAD:
            break
        desk.clock.now = as_utc(row.next_attempt_at)
    assert row.status == OutboxStatus.DEAD and row.attempts == 4
    assert (row.last_error or "").startswith("attempt 4: zendesk lookup: HTTP 502")


async def test_an_unknown_target_is_dead_not_stuck(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    desk = FakeZendesk(FakeClock())
    [key] = await enqueue_tickets(sessions, 1, target="freshdesk")  # configured away since
    await worker(sessions, desk).run_once()
    row = (await rows(sessions))[key]
    assert row.status == OutboxStatus.DEAD and "no connector named 'freshdesk'" in (
        row.last_error or ""
    )
