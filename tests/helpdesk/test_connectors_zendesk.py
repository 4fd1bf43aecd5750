"""The Zendesk connector against httpx.MockTransport: the exact requests it sends, the lookup by
external_id that prevents a second ticket, and how Zendesk's answers map onto DeliveryError."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

from typing import Any

import httpx
import pytest

from errors import ConfigurationError
from helpdesk.connectors import DeliveryError, TicketPayload, ZendeskConnector
from helpdesk.connectors.base import LOOP_MARKER
from tests.helpdesk.connector_fakes import (  # noqa: F401 (fixtures)
    KEY,
    Router,
    answer,
    basic,
    body_of,
    ticket,
)


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
