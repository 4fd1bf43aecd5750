"""Shared by the connector tests: a router for httpx.MockTransport that keeps every request it
saw, small answer and header helpers, and the `ticket` fixture."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from helpdesk.connectors import TicketPayload, TranscriptLine

Handler = Callable[[httpx.Request], httpx.Response]
KEY = "ticket:esc-42"


class Router:
    """Routes (method, path) to a handler and keeps every request it saw."""

    def __init__(self, routes: dict[tuple[str, str], Handler]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, json={"error": "no route"})
        return handler(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    def seen(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path) for r in self.requests]


def answer(status: int, **kwargs: Any) -> Handler:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, **kwargs)

    return handler


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


@pytest.fixture
def ticket() -> TicketPayload:
    at = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    return TicketPayload(
        escalation_id="esc-42",
        conversation_id="conv-7",
        subject="Refund for order #1042 refused by the bot",
        summary="Verified customer Jane Doe wants a refund for #1042 (45 days after delivery).",
        requester_name="Jane Doe",
        requester_email="jane@example.com",
        transcript=[
            TranscriptLine(role="customer", text="I want my money back for #1042", at=at),
            TranscriptLine(role="assistant", text="Returns close 30 days after delivery.", at=at),
            TranscriptLine(role="customer", text="Then I want a person <now>", at=at),
        ],
        category="return_refund",
        priority="high",
        tags=["VIP Customer", "refund"],
        channel="widget",
    )
