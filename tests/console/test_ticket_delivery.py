"""An escalation from chat becomes exactly one Zendesk ticket, even when Zendesk is down for
five minutes first; route_ticket files a triaged ticket for the right team without a handoff."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import select

from channels.summary import collect
from helpdesk.connectors import build_connectors
from helpdesk.outbox import OutboxWorker
from storage.tables import Escalation
from storage.tables_helpdesk import HelpdeskTicket
from tests.fakes import ScriptedChatModel, calls, says


class FakeZendesk:
    def __init__(self, clock: list[datetime], down_until: datetime) -> None:
        self.clock, self.down_until = clock, down_until
        self.tickets: list[dict[str, Any]] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.clock[0] < self.down_until:
            return httpx.Response(503, json={"error": "maintenance"})
        if request.method == "GET":
            key = request.url.params["external_id"]
            return httpx.Response(
                200, json={"tickets": [t for t in self.tickets if t["external_id"] == key]}
            )
        body = json.loads(request.content)["ticket"]
        ticket = {"id": 100 + len(self.tickets), "external_id": body["external_id"], **body}
        self.tickets.append(ticket)
        return httpx.Response(201, json={"ticket": ticket})


async def test_one_ticket_after_a_five_minute_outage(make_services: Any, settings: Any) -> None:
    now = [datetime.now(UTC)]
    zendesk = FakeZendesk(now, down_until=now[0] + timedelta(minutes=5))
    client = httpx.AsyncClient(transport=httpx.MockTransport(zendesk))
    settings = settings.model_copy(
        update={
            "helpdesk": "zendesk",
            "zendesk_subdomain": "acme",
            "zendesk_email": "bot@acme.test",
            "zendesk_api_token": SecretStr("tok"),
        }
    )
    services = await make_services(settings=settings, http=client)
    first = await collect(
        services.runner.run_turn(text="where is order #1001? ada@example.com", channel="test")
    )
    handed = await collect(
        services.runner.run_turn(
            text="I want to speak to a human", channel="test", conversation_id=first.conversation_id
        )
    )
    assert handed.escalation is not None

    async def no_sleep(_: float) -> None:
        return None

    worker = OutboxWorker(
        services.sessions,
        build_connectors(settings, client),
        clock=lambda: now[0],
        sleep=no_sleep,
        rng=random.Random(7),
    )
    for _ in range(120):  # ten simulated minutes in 5 s steps
        await worker.run_once()
        now[0] += timedelta(seconds=5)
    posts = [r for r in zendesk.requests if r.method == "POST"]
    assert len(posts) == 1 and len(zendesk.tickets) == 1
    failed = [r for r in zendesk.requests if r.method == "GET"]
    assert len(failed) > 2  # it did retry during the outage
    ticket = json.loads(posts[0].content)["ticket"]
    assert ticket["external_id"] == f"ticket:{handed.escalation.escalation_id}"
    assert ticket["requester"]["email"] == "ada@example.com"
    assert "#1001" in ticket["comment"]["body"] and "human_request" in ticket["tags"]
    async with services.sessions() as session:
        rows = (await session.scalars(select(HelpdeskTicket))).all()
    assert [(r.connector, r.external_id) for r in rows] == [("zendesk", "100")]


async def test_route_ticket_files_a_triaged_ticket_and_keeps_the_bot(make_services: Any) -> None:
    model = ScriptedChatModel(
        script=[
            calls("route_ticket", summary="Warranty claim: boot sole split after two weeks."),
            says("I've filed that for our returns team; they'll email you within a day."),
        ]
    )
    services = await make_services(model=model)
    result = await collect(
        services.runner.run_turn(
            text="the sole of my boots split after two weeks, I want a refund", channel="test"
        )
    )
    model.assert_complete()
    assert result.owner == "bot" and result.escalation is None
    async with services.sessions() as session:
        ticket = await session.scalar(select(Escalation))
    assert ticket is not None and ticket.category == "return_refund"
    assert ticket.details["team"] == "returns"
