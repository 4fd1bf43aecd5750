"""The Freshdesk connector against httpx.MockTransport: the exact requests it sends, the dedupe
tag search that prevents a second ticket, priorities, notes and rate limits."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.connectors import DeliveryError, FreshdeskConnector, TicketPayload
from helpdesk.connectors.base import LOOP_MARKER
from helpdesk.connectors.freshdesk import dedupe_tag
from tests.helpdesk.connector_fakes import (  # noqa: F401 (fixtures)
    KEY,
    Router,
    answer,
    basic,
    body_of,
    ticket,
)


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
