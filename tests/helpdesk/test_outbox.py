"""The outbox: committed with the escalation, delivered exactly once however long the helpdesk
is down, backoff with full jitter, dead letters, and workers that never deliver a row twice."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from helpdesk.connectors import TicketPayload, TranscriptLine, ZendeskConnector
from helpdesk.outbox import (
    OutboxWorker,
    RetryPolicy,
    claim,
    dead_letters,
    enqueue,
    enqueue_comment,
    enqueue_ticket,
    outbox_counts,
    retry_dead,
    ticket_for_external_id,
    ticket_key,
)
from storage.engine import make_engine, make_sessionmaker
from storage.tables import Base
from storage.tables_helpdesk import HelpdeskTicket, OutboxEntry, OutboxStatus, as_utc
from tests.storage.conftest import postgres_url  # noqa: F401 - the throw-away database fixture

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class MaxRng(random.Random):
    """Always the top of the jitter range."""

    def uniform(self, _a: float, b: float) -> float:
        return b


@dataclass
class FakeZendesk:
    """Just enough of Zendesk's Tickets API: lookup by external_id, create, comment. It can be
    down until a moment of the fake clock, refuse everything with a status, or create a ticket
    and then lose the response."""

    clock: FakeClock
    down_until: datetime | None = None
    refuse_with: httpx.Response | None = None
    lose_first_response: bool = False
    tickets: dict[str, int] = field(default_factory=dict)  # external_id -> ticket id
    log: list[tuple[datetime, str, str, int]] = field(
        default_factory=list
    )  # (at, verb, key, status)
    comments: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    requests: int = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let concurrent workers interleave
        self.requests += 1
        now = self.clock()
        if self.down_until is not None and now < self.down_until:
            verb = "lookup" if request.method == "GET" else "create"
            self.log.append((now, verb, "?", 503))
            if self.requests % 2:
                raise httpx.ConnectError("connection refused")
            return httpx.Response(503, headers={"Retry-After": "1"}, text="maintenance")
        if self.refuse_with is not None:
            self.log.append((now, request.method, "?", self.refuse_with.status_code))
            return self.refuse_with
        path = request.url.path
        if request.method == "GET" and path == "/api/v2/tickets.json":
            key = request.url.params["external_id"]
            self.log.append((now, "lookup", key, 200))
            found = [{"id": self.tickets[key], "external_id": key}] if key in self.tickets else []
            return httpx.Response(200, json={"tickets": found})
        if request.method == "POST" and path == "/api/v2/tickets.json":
            key = json.loads(request.content)["ticket"]["external_id"]
            self.tickets[key] = 1000 + len(self.tickets)
            self.log.append((now, "create", key, 201))
            if self.lose_first_response:
                self.lose_first_response = False
                raise httpx.ReadTimeout("response lost")
            return httpx.Response(201, json={"ticket": {"id": self.tickets[key]}})
        if request.method == "PUT" and path.startswith("/api/v2/tickets/"):
            self.comments.append((path, json.loads(request.content)))
            return httpx.Response(200, json={})
        return httpx.Response(404)

    def connector(self) -> ZendeskConnector:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self))
        return ZendeskConnector(client, subdomain="acme", email="bot@shop.example", api_token="t")

    def creates(self) -> Counter[str]:
        return Counter(
            key for _, verb, key, status in self.log if verb == "create" and status == 201
        )


@pytest.fixture
async def db_url(tmp_path: Path) -> AsyncIterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    await engine.dispose()
    yield url


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


def make_ticket(n: int) -> TicketPayload:
    return TicketPayload(
        escalation_id=f"esc-{n}",
        conversation_id=f"conv-{n}",
        subject=f"Escalation {n}",
        summary=f"Summary of case {n}",
        requester_name="Jane Doe",
        requester_email="jane@example.com",
        transcript=[TranscriptLine(role="customer", text="I want a person")],
        priority="urgent",
    )


async def enqueue_tickets(
    sessions: async_sessionmaker[AsyncSession], n: int, *, target: str = "zendesk"
) -> list[str]:
    async with sessions.begin() as session:
        for i in range(n):
            await enqueue_ticket(session, target=target, ticket=make_ticket(i), now=T0)
    return [ticket_key(f"esc-{i}") for i in range(n)]


async def rows(sessions: async_sessionmaker[AsyncSession]) -> dict[str, OutboxEntry]:
    async with sessions() as session:
        found = (await session.scalars(select(OutboxEntry))).all()
    return {row.idempotency_key: row for row in found}


def worker(
    sessions: async_sessionmaker[AsyncSession],
    desk: FakeZendesk,
    *,
    rng: random.Random | None = None,
    sleep: Callable[[float], Any] | None = None,
    policy: RetryPolicy | None = None,
) -> OutboxWorker:
    async def no_sleep(seconds: float) -> None:
        desk.clock.advance(seconds)

    return OutboxWorker(
        sessions,
        {"zendesk": desk.connector()},
        clock=desk.clock,
        sleep=sleep or no_sleep,
        rng=rng or random.Random(7),
        policy=policy,
    )


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
