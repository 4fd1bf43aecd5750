"""The policy matrix through the tools and the gate: each case proposes an action as the
verified customer, answers yes, and checks the decision AND what the store and database hold
afterwards. The cases: order_action_cases.py."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from agent.confirmation import answer_pending
from commerce.models import OrderStatus
from storage import repo
from storage.tables import PendingAction
from tests.fakes import NOW, MemoryStore, Resolution, ReturnLine
from tests.tools.changes_helpers import _verified
from tests.tools.order_action_cases import ADDR, CASES, RET, Case

# tests/agent and test_actions_property import make_order from here: order_builders defines it
from tests.tools.order_builders import make_order
from tests.tools.test_tools import call
from tools.actions import awaiting_confirmation
from tools.returns import cancel_order, change_shipping_address, start_return


def test_matrix_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_policy_matrix(case: Case, make_services: Any) -> None:
    order = make_order("#2001", **case.order)
    store = MemoryStore(extra_orders=[order])
    for i in range(case.prior_returns):
        store.returns.append(store_return(i))
    services = await make_services(store=store, clock=lambda: NOW)
    ctx = await _verified(services)
    tool, args = {
        "return": (start_return, case.args or RET),
        "cancel": (cancel_order, {"reason": "ordered by mistake"}),
        "address": (change_shipping_address, case.args or ADDR),
    }[case.tool]
    result = await call(tool, ctx, order_number="#2001", **args)
    async with services.sessions() as session:
        actions = (await session.scalars(select(PendingAction))).all()
    if case.expect == "refused":
        assert result.status == "error", result.content
        assert case.refused_with in result.content
        assert actions == []  # a refusal stores nothing
        assert store.orders["#2001"] == order and len(store.returns) == case.prior_returns
        return
    proposal = json.loads(result.content)
    assert [a.status for a in actions] == ["awaiting_confirmation"]
    assert proposal["needs_approval"] is (case.expect == "approval")
    assert store.orders["#2001"] == order  # nothing happens before the customer's yes
    async with services.sessions.begin() as session:
        yes = await repo.append_message(
            session, conversation_id=ctx.conversation_id, role="customer", text="yes"
        )
        pending = await awaiting_confirmation(session, ctx.conversation_id)
    reply = await answer_pending(
        services.deps, pending=pending, text="yes", message_id=yes.id, customer_id="c1"
    )
    assert reply is not None
    if case.expect == "approval":
        assert reply.action.status == "awaiting_approval"
        assert store.orders["#2001"] == order and len(store.returns) == case.prior_returns
        return
    assert reply.action.status == "executed", reply.action.error
    after = store.orders["#2001"]
    if case.tool == "return":
        assert len(store.returns) == case.prior_returns + 1
        if note := (case.args or RET).get("reason_note"):
            assert f'"{note}"' in reply.action.summary and reply.action.args["reason_note"] == note
        assert reply.action.result and reply.action.result["rma"] in reply.text
        assert after.line_items[0].returned_quantity == sum(
            i.get("quantity", 1) for i in (case.args or RET)["items"]
        )
    elif case.tool == "cancel":
        assert after.status == OrderStatus.CANCELLED
    else:
        assert after.shipping_address.line1 == "12 Oak Ave"


def store_return(i: int) -> Any:
    from commerce.models import ReturnRecord

    return ReturnRecord(
        id=f"old{i}",
        rma=f"RMA-OLD-{i}",
        order_number="#1002",
        customer_id="c1",
        lines=[ReturnLine(line_item_id="li1", quantity=1)],
        reason="wrong_size",
        resolution=Resolution.REFUND,
        refund_amount=Decimal("1"),
        instructions="",
        created_at=NOW - timedelta(days=10 + i),
        idempotency_key=f"old{i}",
    )
