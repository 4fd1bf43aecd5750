"""The tools against the tiny store, called the way the graph calls them (a tool call with the
runtime context injected)."""

from __future__ import annotations

import json
from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.messages import ToolMessage
from sqlalchemy import select

from storage import repo
from storage.tables import AuditEntry, Conversation, Escalation, Owner
from tools.context import SupportContext
from tools.escalation import escalate_to_human
from tools.identity import NOT_VERIFIED, verify_customer
from tools.knowledge import search_help_center
from tools.orders import get_order


async def _ctx(services: Any) -> SupportContext:
    async with services.sessions.begin() as session:
        conversation = await repo.create_conversation(session, channel="test")
    return SupportContext(
        conversation_id=conversation.id, channel="test", deps=services.deps, owner_version=0
    )


async def call(tool: Any, ctx: SupportContext, **args: Any) -> ToolMessage:
    runtime = ToolRuntime(
        state={},
        context=ctx,
        config={},
        stream_writer=lambda _: None,
        tool_call_id="t1",
        store=None,
    )
    call = {
        "name": tool.name,
        "args": {**args, "runtime": runtime},
        "id": "t1",
        "type": "tool_call",
    }
    result = await tool.ainvoke(call)
    assert isinstance(result, ToolMessage)
    # the graph writes READ audits with the turn; flush them here so tests can see them
    async with ctx.deps.sessions.begin() as session:
        for entry in ctx.pending_audit:
            await repo.add_audit(session, **entry)
    ctx.pending_audit.clear()
    return result


async def test_runtime_is_hidden_from_the_model() -> None:
    for tool in (verify_customer, get_order, search_help_center, escalate_to_human):
        schema = tool.tool_call_schema.model_json_schema()
        assert "runtime" not in schema["properties"]
        assert all(p.get("description") for p in schema["properties"].values()), tool.name
    assert verify_customer.metadata["kind"] == "read"
    assert escalate_to_human.metadata["kind"] == "write"


async def test_order_data_needs_verification(make_services: Any) -> None:
    services = await make_services()
    ctx = await _ctx(services)
    result = await call(get_order, ctx, order_number="#1001")
    assert result.status == "error"
    assert "not verified" in result.content
    assert "Trail Runner" not in result.content


async def test_verify_then_get_own_order(make_services: Any) -> None:
    services = await make_services()
    ctx = await _ctx(services)
    ok = await call(verify_customer, ctx, order_number="1001", email="ADA@example.com ")
    assert ok.status == "success"
    assert ctx.customer_id == "c1"
    order = json.loads((await call(get_order, ctx, order_number="#1001")).content)
    assert order["status"] == "partially_shipped"
    assert order["shipments"][0]["tracking_number"] == "1Z999AA10123456784"
    async with services.sessions() as session:
        row = await session.get(Conversation, ctx.conversation_id)
        assert row is not None and row.verified_customer_id == "c1"


async def test_verify_by_postal_code(make_services: Any) -> None:
    services = await make_services()
    ctx = await _ctx(services)
    assert (
        await call(verify_customer, ctx, order_number="#1002", postal_code="97201")
    ).status == "success"


async def test_wrong_email_and_unknown_order_get_the_same_words(make_services: Any) -> None:
    services = await make_services()
    ctx = await _ctx(services)
    wrong = await call(verify_customer, ctx, order_number="#1001", email="eve@example.com")
    unknown = await call(verify_customer, ctx, order_number="#9999", email="eve@example.com")
    assert wrong.status == unknown.status == "error"
    assert wrong.content == unknown.content
    assert ctx.customer_id is None
    async with services.sessions() as session:
        row = await session.get(Conversation, ctx.conversation_id)
        assert row is not None and row.verified_customer_id is None
        assert row.failed_verifications == 2


async def test_other_customers_order_is_not_found(make_services: Any) -> None:
    services = await make_services()
    ctx = await _ctx(services)
    await call(verify_customer, ctx, order_number="#1001", email="ada@example.com")
    other = await call(get_order, ctx, order_number="#1003")  # Bob's
    unknown = await call(get_order, ctx, order_number="#4242")
    assert other.status == unknown.status == "error"
    assert other.content.replace("#1003", "#X") == unknown.content.replace("#4242", "#X")


async def test_conversation_stays_bound_to_the_first_customer(make_services: Any) -> None:
    services = await make_services()
    ctx = await _ctx(services)
    await call(verify_customer, ctx, order_number="#1001", email="ada@example.com")
    second = await call(verify_customer, ctx, order_number="#1003", email="bob@example.com")
    assert second.status == "error"
    assert "another customer" in second.content
    assert ctx.customer_id == "c1"
    assert "Bob" not in second.content


async def test_verification_locks_after_too_many_failures(make_services: Any) -> None:
    services = await make_services()
    ctx = await _ctx(services)
    for _ in range(services.settings.max_verify_attempts):
        await call(verify_customer, ctx, order_number="#1001", email="eve@example.com")
    locked = await call(verify_customer, ctx, order_number="#1001", email="ada@example.com")
    # the right details are refused in the very words of wrong ones: a lock tells nothing
    assert locked.status == "error" and locked.content == NOT_VERIFIED
    assert ctx.customer_id is None


async def test_audit_log_masks_personal_data(make_services: Any) -> None:
    services = await make_services()
    ctx = await _ctx(services)
    await call(verify_customer, ctx, order_number="#1001", email="ada@example.com")
    async with services.sessions() as session:
        entries = (await session.scalars(select(AuditEntry))).all()
    assert [(e.tool, e.ok, e.kind) for e in entries] == [("verify_customer", True, "read")]
    assert "ada@example.com" not in json.dumps(entries[0].args)
    assert entries[0].args["email"].startswith("a***@")


async def test_search_help_center_records_answerable_passages(make_services: Any) -> None:
    services = await make_services()
    ctx = await _ctx(services)
    hit = json.loads((await call(search_help_center, ctx, query="return policy?")).content)
    assert hit["answerable"] is True and hit["passages"][0]["title"] == "Returns"
    miss = json.loads((await call(search_help_center, ctx, query="capital of Peru")).content)
    assert miss["answerable"] is False
    assert [p.id for p in ctx.passages] == ["returns#0"]


async def test_escalation_creates_row_and_queues_conversation(make_services: Any) -> None:
    services = await make_services()
    ctx = await _ctx(services)
    result = await call(escalate_to_human, ctx, reason="customer_request", summary="wants a human")
    data = json.loads(result.content)
    async with services.sessions() as session:
        conversation = await session.get(Conversation, ctx.conversation_id)
        escalations = (await session.scalars(select(Escalation))).all()
        audit = (await session.scalars(select(AuditEntry))).all()
    assert conversation is not None and conversation.owner == Owner.QUEUED
    assert conversation.owner_version == 1
    assert [e.id for e in escalations] == [data["escalation_id"]]
    assert escalations[0].reason == "customer_request"
    assert [a.kind for a in audit] == ["write"]
    again = json.loads((await call(escalate_to_human, ctx, reason="other", summary="x")).content)
    assert again["already"] is True and again["escalation_id"] == data["escalation_id"]


async def test_escalation_refuses_a_stale_owner_version(make_services: Any) -> None:
    services = await make_services()
    ctx = await _ctx(services)
    async with services.sessions.begin() as session:  # a human claimed it meanwhile
        assert await repo.change_owner(
            session, ctx.conversation_id, expected_version=0, owner=Owner.HUMAN, staff_id="s1"
        )
    result = await call(escalate_to_human, ctx, reason="other", summary="x")
    assert result.status == "error"
    async with services.sessions() as session:
        assert (await session.scalars(select(Escalation))).all() == []
