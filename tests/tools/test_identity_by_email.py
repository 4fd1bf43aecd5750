"""Identity without the order number: the email plus the postal code of one of the customer's
orders verifies, lists the customer's orders, binds one customer per conversation, and is
counted by the same verification throttles as the order-number path."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from storage import repo
from storage.tables import Conversation
from tests.fakes import MemoryStore
from tests.tools.test_tools import call
from tools.context import SupportContext
from tools.identity import NOT_VERIFIED_BY_EMAIL, verify_customer


async def _ctx(services: Any, ip: str = "203.0.113.7") -> SupportContext:
    async with services.sessions.begin() as session:
        conversation = await repo.create_conversation(session, channel="test")
    return SupportContext(
        conversation_id=conversation.id,
        channel="test",
        deps=services.deps,
        owner_version=0,
        client_ip=ip,
    )


async def _bound(services: Any, ctx: SupportContext) -> str | None:
    async with services.sessions() as session:
        row = await session.scalar(
            select(Conversation).where(Conversation.id == ctx.conversation_id)
        )
    assert row is not None
    return row.verified_customer_id


async def test_email_and_postal_code_verify_and_list_the_orders(make_services: Any) -> None:
    store = MemoryStore()
    services = await make_services(store=store)
    ctx = await _ctx(services)
    result = await call(verify_customer, ctx, email=" Ada@Example.com", postal_code="97201")
    data = json.loads(result.content)
    assert result.status != "error" and data["verified"] is True
    assert [o["order_number"] for o in data["orders"]] == ["#1001", "#1002"]
    assert data["orders"][0]["total"] == "126.36"
    assert "Trail Runner" in data["orders"][0]["items"]
    assert ctx.customer_id == "c1" and await _bound(services, ctx) == "c1"
    assert "#1003" not in json.dumps(data)  # Bob's order never shows


async def test_wrong_postal_code_or_one_detail_alone_verifies_nothing(make_services: Any) -> None:
    services = await make_services(store=MemoryStore())
    ctx = await _ctx(services)
    for args in (
        {"email": "ada@example.com", "postal_code": "10001"},  # Bob's postcode
        {"email": "bob@example.com", "postal_code": "97201"},  # Ada's postcode
        {"email": "nobody@example.com", "postal_code": "97201"},
    ):
        result = await call(verify_customer, ctx, **args)
        assert result.status == "error" and NOT_VERIFIED_BY_EMAIL in str(result.content)
    alone = await call(verify_customer, ctx, email="ada@example.com")
    assert alone.status == "error" and "postal code" in str(alone.content)
    assert ctx.customer_id is None and await _bound(services, ctx) is None


async def test_one_customer_per_conversation(make_services: Any) -> None:
    services = await make_services(store=MemoryStore())
    ctx = await _ctx(services)
    first = await call(verify_customer, ctx, email="ada@example.com", postal_code="97201")
    assert first.status != "error"
    second = await call(verify_customer, ctx, email="bob@example.com", postal_code="10001")
    assert second.status == "error" and "another customer" in str(second.content)
    assert await _bound(services, ctx) == "c1"


async def test_the_email_is_locked_after_repeated_failures(
    make_services: Any, settings: Any
) -> None:
    """Failures count per email across conversations and IPs: once locked, even the right
    postcode is refused with the same words, and the order-number path for that email too."""
    limited = settings.model_copy(update={"verify_failure_limit": 3, "max_verify_attempts": 99})
    services = await make_services(store=MemoryStore(), settings=limited)
    for i in range(3):
        ctx = await _ctx(services, ip=f"198.51.100.{i}")
        guess = await call(verify_customer, ctx, email="ada@example.com", postal_code=f"0000{i}")
        assert guess.status == "error"
    ctx = await _ctx(services, ip="192.0.2.50")
    right = await call(verify_customer, ctx, email="ada@example.com", postal_code="97201")
    assert right.status == "error" and NOT_VERIFIED_BY_EMAIL in str(right.content)
    by_order = await call(verify_customer, ctx, order_number="#1001", email="ada@example.com")
    assert by_order.status == "error"
    assert ctx.customer_id is None and await _bound(services, ctx) is None


async def test_an_order_number_in_the_stores_own_format_verifies(make_services: Any) -> None:
    """'nw 104233' is the store's NW-104233: verification reads the number the store's way
    (the generic reading refused it)."""
    from datetime import timedelta

    from tests.fakes import NOW

    ada_order = MemoryStore().orders["#1001"]
    prefixed = ada_order.model_copy(
        update={"id": "o-nw", "number": "NW-104233", "created_at": NOW - timedelta(days=1)}
    )
    store = MemoryStore(extra_orders=[prefixed])
    services = await make_services(store=store)
    ctx = await _ctx(services)
    result = await call(verify_customer, ctx, order_number="nw 104233", email="ada@example.com")
    data = json.loads(result.content)
    assert result.status != "error" and data["order_number"] == "NW-104233"
    assert ctx.customer_id == "c1" and await _bound(services, ctx) == "c1"
    other = await _ctx(services)
    refused = await call(verify_customer, other, order_number="nw 104233", email="bob@example.com")
    assert refused.status == "error" and other.customer_id is None
