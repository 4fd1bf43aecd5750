"""The generic webhook connector (signed JSON, idempotency key) and the built-in queue against
httpx.MockTransport; ticket rendering, tag and Retry-After helpers; connectors built from
settings. Zendesk and Freshdesk have their own modules."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

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
    WebhookConnector,
    build_connectors,
)
from helpdesk.connectors.base import (
    MAX_TICKET_CHARS,
    normalise_tags,
    parse_retry_after,
    render_ticket_html,
    render_ticket_text,
)
from helpdesk.connectors.signing import verify
from tests.helpdesk.connector_fakes import KEY, Router, answer, body_of, ticket  # noqa: F401

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
