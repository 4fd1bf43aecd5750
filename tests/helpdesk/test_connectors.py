"""Connectors against httpx.MockTransport: the exact requests each helpdesk receives, the lookup
that prevents a second ticket, and how helpdesk answers map onto DeliveryError."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from errors import ConfigurationError
from helpdesk.connectors import (
    BuiltinQueueConnector,
    DeliveryError,
    FreshdeskConnector,
    TicketPayload,
    TranscriptLine,
    WebhookConnector,
    ZendeskConnector,
    build_connectors,
)
from helpdesk.connectors.base import (
    LOOP_MARKER,
    MAX_TICKET_CHARS,
    normalise_tags,
    parse_retry_after,
    render_ticket_html,
    render_ticket_text,
)
from helpdesk.connectors.freshdesk import dedupe_tag
from helpdesk.connectors.signing import verify

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


# ---- Zendesk -----------------------------------------------------------------------------------


def zendesk(router: Router, **kwargs: Any) -> ZendeskConnector:
    return ZendeskConnector(
        router.client(), subdomain="acme", email="bot@shop.example", api_token="tok123", **kwargs
    )


async def test_zendesk_looks_up_then_creates_the_ticket(ticket: TicketPayload) -> None:
    router = Router(
        {
            ("GET", "/api/v2/tickets.json"): answer(200, json={"tickets": []}),
            ("POST", "/api/v2/tickets.json"): answer(
                201, json={"ticket": {"id": 9001, "external_id": KEY}}
            ),
        }
    )
    ref = await zendesk(router).create_ticket(ticket, KEY)

    assert ref.external_id == "9001"
    assert ref.url == "https://acme.zendesk.com/agent/tickets/9001"
    assert router.seen() == [("GET", "/api/v2/tickets.json"), ("POST", "/api/v2/tickets.json")]
    lookup, create = router.requests
    assert lookup.url.host == "acme.zendesk.com"
    assert lookup.url.params["external_id"] == KEY
    for request in router.requests:
        assert request.headers["authorization"] == basic("bot@shop.example/token", "tok123")
    sent = body_of(create)["ticket"]
    assert sent["subject"] == ticket.subject
    assert sent["external_id"] == KEY
    assert sent["priority"] == "high"
    assert sent["requester"] == {"name": "Jane Doe", "email": "jane@example.com"}
    assert sent["tags"] == ["support_agent", "return_refund", "vip_customer", "refund"]
    assert sent["comment"]["public"] is False  # the summary is internal
    comment = sent["comment"]["body"]
    assert ticket.summary in comment
    assert "customer: I want my money back for #1042" in comment
    assert "assistant: Returns close 30 days after delivery." in comment
    assert "[2026-03-02 09:15 UTC]" in comment
    assert "Escalation: esc-42" in comment and LOOP_MARKER in comment


async def test_zendesk_existing_ticket_for_the_key_means_no_second_post(
    ticket: TicketPayload,
) -> None:
    router = Router(
        {
            ("GET", "/api/v2/tickets.json"): answer(
                200, json={"tickets": [{"id": 77, "external_id": KEY}, {"id": 12}]}
            ),
        }
    )
    ref = await zendesk(router).create_ticket(ticket, KEY)
    assert ref.external_id == "12"  # the first one filed
    assert [m for m, _ in router.seen()] == ["GET"]


async def test_zendesk_anonymous_chat_has_no_requester(ticket: TicketPayload) -> None:
    router = Router(
        {
            ("GET", "/api/v2/tickets.json"): answer(200, json={"tickets": []}),
            ("POST", "/api/v2/tickets.json"): answer(201, json={"ticket": {"id": 1}}),
        }
    )
    anonymous = ticket.model_copy(update={"requester_name": None, "requester_email": None})
    await zendesk(router).create_ticket(anonymous, KEY)
    sent = body_of(router.requests[-1])["ticket"]
    assert "requester" not in sent
    assert "Customer: anonymous chat visitor" in sent["comment"]["body"]


async def test_zendesk_comment_is_a_ticket_update(ticket: TicketPayload) -> None:
    del ticket
    router = Router({("PUT", "/api/v2/tickets/9001.json"): answer(200, json={})})
    await zendesk(router).add_comment("9001", "Customer added: it was a gift", public=False)
    sent = body_of(router.requests[0])
    assert sent == {
        "ticket": {
            "comment": {"body": f"Customer added: it was a gift\n\n{LOOP_MARKER}", "public": False}
        }
    }


@pytest.mark.parametrize(
    ("response", "retryable", "retry_after"),
    [
        (httpx.Response(429, headers={"Retry-After": "30"}, text="slow down"), True, 30.0),
        (httpx.Response(503, headers={"Retry-After": "7"}), True, 7.0),
        (httpx.Response(500), True, None),
        (httpx.Response(409, text="conflict"), True, None),
        (httpx.Response(422, json={"error": "RecordInvalid", "details": "email"}), False, None),
        (httpx.Response(401, text="Couldn't authenticate you"), False, None),
    ],
)
async def test_zendesk_errors_map_to_retryable_or_not(
    ticket: TicketPayload, response: httpx.Response, retryable: bool, retry_after: float | None
) -> None:
    router = Router({("GET", "/api/v2/tickets.json"): lambda _r: response})
    with pytest.raises(DeliveryError) as caught:
        await zendesk(router).create_ticket(ticket, KEY)
    assert caught.value.retryable is retryable
    assert caught.value.retry_after == retry_after
    assert caught.value.status == response.status_code
    assert f"HTTP {response.status_code}" in str(caught.value)


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("x")],
)
async def test_transport_failures_are_retryable(ticket: TicketPayload, exc: Exception) -> None:
    def boom(_request: httpx.Request) -> httpx.Response:
        raise exc

    router = Router({("GET", "/api/v2/tickets.json"): boom})
    with pytest.raises(DeliveryError) as caught:
        await zendesk(router).create_ticket(ticket, KEY)
    assert caught.value.retryable is True


def test_zendesk_refuses_a_bad_subdomain() -> None:
    with pytest.raises(ConfigurationError):
        ZendeskConnector(httpx.AsyncClient(), subdomain="evil.com/x", email="a@b", api_token="t")


# ---- Freshdesk ---------------------------------------------------------------------------------


def freshdesk(router: Router, **kwargs: Any) -> FreshdeskConnector:
    return FreshdeskConnector(
        router.client(),
        domain="acme.freshdesk.com",
        api_key="fdkey",
        fallback_email="support@shop.example",
        **kwargs,
    )


async def test_freshdesk_searches_the_tag_then_creates(ticket: TicketPayload) -> None:
    router = Router(
        {
            ("GET", "/api/v2/search/tickets"): answer(200, json={"results": [], "total": 0}),
            ("POST", "/api/v2/tickets"): answer(201, json={"id": 555}),
        }
    )
    ref = await freshdesk(router, category_field="cf_category").create_ticket(ticket, KEY)

    assert ref.external_id == "555"
    assert ref.url == "https://acme.freshdesk.com/a/tickets/555"
    search, create = router.requests
    assert search.url.params["query"] == f"\"tag:'{dedupe_tag(KEY)}'\""
    for request in router.requests:
        assert request.headers["authorization"] == basic("fdkey", "X")
    sent = body_of(create)
    assert sent["subject"] == ticket.subject
    assert sent["email"] == "jane@example.com" and sent["name"] == "Jane Doe"
    assert sent["priority"] == 3 and sent["status"] == 2 and sent["source"] == 7
    assert sent["tags"] == [
        "support_agent",
        "return_refund",
        "vip_customer",
        "refund",
        dedupe_tag(KEY),
    ]
    assert sent["custom_fields"] == {"cf_category": "return_refund"}
    assert ticket.summary in sent["description"]
    assert "customer: I want my money back for #1042" in sent["description"]
    assert "&lt;now&gt;" in sent["description"]  # customer text is escaped, never markup


@pytest.mark.parametrize(("priority", "number"), [("low", 1), ("normal", 2), ("urgent", 4)])
async def test_freshdesk_priority_mapping(
    ticket: TicketPayload, priority: str, number: int
) -> None:
    router = Router(
        {
            ("GET", "/api/v2/search/tickets"): answer(200, json={"results": []}),
            ("POST", "/api/v2/tickets"): answer(201, json={"id": 1}),
        }
    )
    await freshdesk(router).create_ticket(ticket.model_copy(update={"priority": priority}), KEY)
    assert body_of(router.requests[-1])["priority"] == number


async def test_freshdesk_existing_tagged_ticket_means_no_second_post(
    ticket: TicketPayload,
) -> None:
    router = Router(
        {("GET", "/api/v2/search/tickets"): answer(200, json={"results": [{"id": 31}], "total": 1})}
    )
    ref = await freshdesk(router).create_ticket(ticket, KEY)
    assert ref.external_id == "31"
    assert [m for m, _ in router.seen()] == ["GET"]


async def test_freshdesk_anonymous_chat_uses_the_fallback_requester(
    ticket: TicketPayload,
) -> None:
    router = Router(
        {
            ("GET", "/api/v2/search/tickets"): answer(200, json={"results": []}),
            ("POST", "/api/v2/tickets"): answer(201, json={"id": 1}),
        }
    )
    anonymous = ticket.model_copy(
        update={"requester_name": None, "requester_email": None, "channel": "email"}
    )
    await freshdesk(router).create_ticket(anonymous, KEY)
    sent = body_of(router.requests[-1])
    assert sent["email"] == "support@shop.example" and sent["name"] == "Chat visitor"
    assert sent["source"] == 1


async def test_freshdesk_comment_is_a_note() -> None:
    router = Router({("POST", "/api/v2/tickets/555/notes"): answer(201, json={"id": 3})})
    await freshdesk(router).add_comment("555", "Customer added: size M", public=False)
    assert body_of(router.requests[0]) == {
        "body": f"Customer added: size M\n\n{LOOP_MARKER}",
        "private": True,
    }


async def test_freshdesk_rate_limit_carries_retry_after(ticket: TicketPayload) -> None:
    router = Router({("GET", "/api/v2/search/tickets"): answer(429, headers={"Retry-After": "61"})})
    with pytest.raises(DeliveryError) as caught:
        await freshdesk(router).create_ticket(ticket, KEY)
    assert caught.value.retryable and caught.value.retry_after == 61.0


# ---- generic webhook, built-in -----------------------------------------------------------------

SECRET = "whsec-0123456789abcdef"


async def test_webhook_posts_signed_json_with_the_idempotency_key(ticket: TicketPayload) -> None:
    router = Router(
        {
            ("POST", "/hooks/tickets"): answer(
                200, json={"id": "T-1", "url": "https://desk.example/T-1"}
            )
        }
    )
    connector = WebhookConnector(
        router.client(),
        url="https://desk.example/hooks/tickets",
        secret=SECRET,
        clock=lambda: 1_767_000_000.9,
    )
    ref = await connector.create_ticket(ticket, KEY)

    assert ref.external_id == "T-1" and ref.url == "https://desk.example/T-1"
    request = router.requests[0]
    assert request.headers["idempotency-key"] == KEY
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-support-agent-timestamp"] == "1767000000"
    signature = request.headers["x-support-agent-signature"]
    assert signature.startswith("sha256=")
    assert verify(SECRET, timestamp="1767000000", body=request.content, signature=signature)
    assert not verify(
        "another-secret-000000", timestamp="1767000000", body=request.content, signature=signature
    )
    sent = body_of(request)
    assert sent["event"] == "ticket.create" and sent["idempotency_key"] == KEY
    assert sent["ticket"]["escalation_id"] == "esc-42"
    assert sent["ticket"]["priority"] == "high"
    assert ticket.summary in sent["text"]


async def test_webhook_without_an_id_in_the_answer_uses_the_key(ticket: TicketPayload) -> None:
    router = Router({("POST", "/t"): answer(204)})
    connector = WebhookConnector(router.client(), url="https://desk.example/t", secret=SECRET)
    assert (await connector.create_ticket(ticket, KEY)).external_id == KEY
    await connector.add_comment("T-1", "more", public=False, idempotency_key="comment:m1")
    comment = router.requests[-1]
    assert comment.headers["idempotency-key"] == "comment:m1"
    assert body_of(comment) == {
        "event": "ticket.comment",
        "idempotency_key": "comment:m1",
        "external_id": "T-1",
        "body": "more",
        "public": False,
    }


async def test_webhook_4xx_is_permanent(ticket: TicketPayload) -> None:
    router = Router({("POST", "/t"): answer(400, text="unknown field")})
    connector = WebhookConnector(router.client(), url="https://desk.example/t", secret=SECRET)
    with pytest.raises(DeliveryError) as caught:
        await connector.create_ticket(ticket, KEY)
    assert not caught.value.retryable and "unknown field" in str(caught.value)


def test_webhook_refuses_a_short_secret() -> None:
    with pytest.raises(ConfigurationError):
        WebhookConnector(httpx.AsyncClient(), url="https://desk.example/t", secret="short")


async def test_builtin_queue_is_the_escalation_itself(ticket: TicketPayload) -> None:
    connector = BuiltinQueueConnector(staff_url="https://shop.example/staff/escalations/")
    ref = await connector.create_ticket(ticket, KEY)
    assert ref.external_id == "esc-42"
    assert ref.url == "https://shop.example/staff/escalations/esc-42"
    await connector.add_comment("esc-42", "anything", public=True)  # no network, no error


# ---- rendering, helpers, wiring ----------------------------------------------------------------


def test_long_transcripts_keep_the_newest_lines(ticket: TicketPayload) -> None:
    lines = [{"role": "customer", "text": f"message {i} " + "x" * 400} for i in range(200)]
    long = TicketPayload.model_validate({**ticket.model_dump(), "transcript": lines})
    text = render_ticket_text(long)
    assert len(text) <= MAX_TICKET_CHARS + 200
    assert "message 199" in text and "message 0 " not in text
    assert "earlier messages omitted)" in text
    assert "<p>" in render_ticket_html(long)


def test_tags_are_normalised() -> None:
    assert normalise_tags(["VIP Customer", " refund ", "refund", "", "Ünïcode"]) == [
        "vip_customer",
        "refund",
        "ünïcode",
    ]


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def _settings(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "helpdesk": "builtin",
        "zendesk_subdomain": None,
        "zendesk_email": None,
        "zendesk_api_token": None,
        "freshdesk_domain": None,
        "freshdesk_api_key": None,
        "freshdesk_fallback_email": None,
        "freshdesk_category_field": None,
        "helpdesk_webhook_url": None,
        "helpdesk_webhook_secret": None,
        "support_email": "support@shop.example",
    }
    return SimpleNamespace(**(values | overrides))


async def test_build_connectors_from_settings() -> None:
    async with httpx.AsyncClient() as client:
        assert set(build_connectors(_settings(), client)) == {"builtin"}
        zd = build_connectors(
            _settings(
                helpdesk="zendesk",
                zendesk_subdomain="acme",
                zendesk_email="a@b.c",
                zendesk_api_token=SecretStr("t"),
            ),
            client,
        )
        assert set(zd) == {"builtin", "zendesk"}
        fd = build_connectors(
            _settings(
                helpdesk="freshdesk", freshdesk_domain="acme", freshdesk_api_key=SecretStr("k")
            ),
            client,
        )
        assert isinstance(fd["freshdesk"], FreshdeskConnector)
        with pytest.raises(ConfigurationError):
            build_connectors(_settings(helpdesk="zendesk"), client)
        with pytest.raises(ConfigurationError):
            build_connectors(
                _settings(helpdesk="webhook", helpdesk_webhook_url="https://x.example/h"), client
            )
