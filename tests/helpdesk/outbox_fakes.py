"""Shared by the outbox tests: a fake clock, a fake Zendesk that can be down, refuse or lose a
response, a throw-away SQLite database (`db_url`, `sessions`), and small builders."""

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
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from helpdesk.connectors import TicketPayload, TranscriptLine, ZendeskConnector
from helpdesk.outbox import OutboxWorker, RetryPolicy, enqueue_ticket, ticket_key
from storage.engine import make_engine, make_sessionmaker
from storage.tables import Base
from storage.tables_helpdesk import OutboxEntry

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


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
