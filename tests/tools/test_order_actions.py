"""The policy matrix through the tools and the gate: each case proposes an action as the
verified customer, answers yes, and checks the decision AND what the store and database hold
afterwards."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from agent.confirmation import answer_pending
from commerce.models import LineItem, Order, OrderStatus, Shipment
from storage import repo
from storage.tables import PendingAction
from tests.fakes import NOW, MemoryStore, Resolution, ReturnLine, tiny_store_data
from tests.tools.test_tools import call
from tools.actions import awaiting_confirmation
from tools.context import SupportContext
from tools.returns import cancel_order, change_shipping_address, start_return


def make_order(
    number: str,
    status: OrderStatus,
    *,
    delivered_days: int | None = 10,
    price: str = "89.00",
    quantity: int = 1,
    final_sale: bool = False,
    category: str = "footwear",
    customer: str = "c1",
) -> Order:
    customers, _ = tiny_store_data()
    owner = next(c for c in customers if c.id == customer)
    item = LineItem(
        id=f"{number}-li",
        product_id="p1",
        sku="TR-42-BLK",
        name="Trail Runner",
        variant_title="42 / Black",
        category=category,
        quantity=quantity,
        unit_price=Decimal(price),
        final_sale=final_sale,
    )
    shipments = []
    if status in (
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.RETURNED,
    ):
        delivered = (
            NOW - timedelta(days=delivered_days)
            if delivered_days is not None and status != OrderStatus.SHIPPED
            else None
        )
        shipments.append(
            Shipment(
                id=f"{number}-s",
                carrier="UPS",
                tracking_number="1Z",
                shipped_at=NOW - timedelta(days=(delivered_days or 3) + 3),
                delivered_at=delivered,
                status="delivered" if delivered else "in_transit",
                line_item_ids=[item.id],
            )
        )
    total = item.unit_price * quantity
    return Order(
        id=number,
        number=number,
        customer_id=owner.id,
        email=owner.email,
        created_at=NOW - timedelta(days=(delivered_days or 3) + 6),
        status=status,
        subtotal=total,
        shipping_cost=Decimal(0),
        tax=Decimal(0),
        total=total,
        shipping_address=owner.default_address,
        line_items=[item],
        shipments=shipments,
    )


@dataclass
class Case:
    name: str
    order: dict[str, Any]
    tool: str = "return"
    args: dict[str, Any] = field(default_factory=dict)
    expect: str = "executed"  # refused | approval | executed
    refused_with: str = ""
    prior_returns: int = 0


D = OrderStatus.DELIVERED
RET = {
    "items": [{"item": "Trail Runner", "quantity": 1}],
    "reason": "wrong_size",
    "resolution": "refund",
}
ADDR = {"line1": "12 Oak Ave", "city": "Portland", "postal_code": "97201", "country": "US"}

CASES = [
    Case("inside window", {"status": D}),
    Case("day 30 is inside", {"status": D, "delivered_days": 30}),
    Case(
        "day 31 is outside",
        {"status": D, "delivered_days": 31},
        expect="refused",
        refused_with="returns close after 30 days",
    ),
    Case("day 90 is outside", {"status": D, "delivered_days": 90}, expect="refused"),
    Case("day 0 is inside", {"status": D, "delivered_days": 0}),
    Case(
        "final sale", {"status": D, "final_sale": True}, expect="refused", refused_with="final-sale"
    ),
    Case("gift cards are final sale", {"status": D, "category": "gift cards"}, expect="refused"),
    Case("personal care never", {"status": D, "category": "personal care"}, expect="refused"),
    Case("value at the cap", {"status": D, "price": "250.00"}),
    Case("value over the cap", {"status": D, "price": "250.01"}, expect="approval"),
    Case(
        "two items over the cap",
        {"status": D, "price": "130.00", "quantity": 2},
        args={**RET, "items": [{"item": "Trail Runner", "quantity": 2}]},
        expect="approval",
    ),
    Case("damaged at 100", {"status": D, "price": "100.00"}, args={**RET, "reason": "damaged"}),
    Case(
        "damaged over 100",
        {"status": D, "price": "100.01"},
        args={**RET, "reason": "damaged"},
        expect="approval",
    ),
    Case(
        "defective over 100",
        {"status": D, "price": "180.00"},
        args={**RET, "reason": "defective"},
        expect="approval",
    ),
    Case("third return in 90 days", {"status": D}, prior_returns=2),
    Case("fourth return in 90 days", {"status": D}, prior_returns=3, expect="approval"),
    Case(
        "exception inside window",
        {"status": D},
        args={**RET, "reason": "exception"},
        expect="approval",
    ),
    Case(
        "exception outside window",
        {"status": D, "delivered_days": 45},
        args={**RET, "reason": "exception"},
        expect="approval",
    ),
    Case(
        "exception on final sale",
        {"status": D, "final_sale": True},
        args={**RET, "reason": "exception"},
        expect="approval",
    ),
    Case("unknown reason", {"status": D}, args={**RET, "reason": "bored"}, expect="refused"),
    Case(
        "other reason in the customer's words",
        {"status": D},
        args={**RET, "reason": "other", "reason_note": "my dog hates the squeak"},
    ),
    Case(
        "other reason without words",
        {"status": D},
        args={**RET, "reason": "other"},
        expect="refused",
        refused_with="own words",
    ),
    Case("changed mind pays a fee", {"status": D}, args={**RET, "reason": "changed_mind"}),
    Case("store credit", {"status": D}, args={**RET, "resolution": "store_credit"}),
    Case(
        "exchange in stock",
        {"status": D},
        args={**RET, "resolution": "exchange", "exchange_variant": "43 / Black"},
    ),
    Case(
        "exchange out of stock",
        {"status": D},
        args={**RET, "resolution": "exchange", "exchange_variant": "44 / Black"},
        expect="refused",
        refused_with="out of stock",
    ),
    Case(
        "exchange unknown size",
        {"status": D},
        args={**RET, "resolution": "exchange", "exchange_variant": "51"},
        expect="refused",
    ),
    Case(
        "quantity above bought",
        {"status": D},
        args={**RET, "items": [{"item": "Trail Runner", "quantity": 2}]},
        expect="refused",
        refused_with="only 1",
    ),
    Case(
        "quantity zero",
        {"status": D},
        args={**RET, "items": [{"item": "Trail Runner", "quantity": 0}]},
        expect="refused",
    ),
    Case(
        "all of two",
        {"status": D, "quantity": 2},
        args={**RET, "items": [{"item": "Trail Runner", "quantity": 2}]},
    ),
    Case(
        "item not on order",
        {"status": D},
        args={**RET, "items": [{"item": "Kayak", "quantity": 1}]},
        expect="refused",
        refused_with="is not on order",
    ),
    Case("no items", {"status": D}, args={**RET, "items": []}, expect="refused"),
    Case("by SKU", {"status": D}, args={**RET, "items": [{"item": "tr-42-blk"}]}),
    Case("partially refunded order", {"status": OrderStatus.PARTIALLY_REFUNDED}),
    Case(
        "pending payment return",
        {"status": OrderStatus.PENDING_PAYMENT, "delivered_days": None},
        expect="refused",
        refused_with="hasn't been delivered",
    ),
    Case("paid return", {"status": OrderStatus.PAID, "delivered_days": None}, expect="refused"),
    Case("in transit return", {"status": OrderStatus.SHIPPED}, expect="refused"),
    Case(
        "cancelled return",
        {"status": OrderStatus.CANCELLED, "delivered_days": None},
        expect="refused",
    ),
    Case(
        "other customer's order",
        {"status": D, "customer": "c2"},
        expect="refused",
        refused_with="No order",
    ),
    Case("cancel paid", {"status": OrderStatus.PAID, "delivered_days": None}, tool="cancel"),
    Case(
        "cancel pending payment",
        {"status": OrderStatus.PENDING_PAYMENT, "delivered_days": None},
        tool="cancel",
    ),
    Case(
        "cancel shipped",
        {"status": OrderStatus.SHIPPED},
        tool="cancel",
        expect="refused",
        refused_with="Once it arrives, you can return it instead, within 30 days",
    ),
    Case(
        "cancel delivered",
        {"status": D},
        tool="cancel",
        expect="refused",
        refused_with="delivered, so you can return it instead",
    ),
    Case(
        "cancel cancelled",
        {"status": OrderStatus.CANCELLED, "delivered_days": None},
        tool="cancel",
        expect="refused",
    ),
    Case("cancel returned", {"status": OrderStatus.RETURNED}, tool="cancel", expect="refused"),
    Case(
        "cancel partially refunded",
        {"status": OrderStatus.PARTIALLY_REFUNDED},
        tool="cancel",
        expect="refused",
    ),
    Case(
        "cancel someone else's",
        {"status": OrderStatus.PAID, "delivered_days": None, "customer": "c2"},
        tool="cancel",
        expect="refused",
    ),
    Case("address paid", {"status": OrderStatus.PAID, "delivered_days": None}, tool="address"),
    Case(
        "address pending payment",
        {"status": OrderStatus.PENDING_PAYMENT, "delivered_days": None},
        tool="address",
    ),
    Case("address shipped", {"status": OrderStatus.SHIPPED}, tool="address", expect="refused"),
    Case("address delivered", {"status": D}, tool="address", expect="refused"),
    Case(
        "address cancelled",
        {"status": OrderStatus.CANCELLED, "delivered_days": None},
        tool="address",
        expect="refused",
    ),
    Case(
        "address incomplete",
        {"status": OrderStatus.PAID, "delivered_days": None},
        tool="address",
        args={**ADDR, "city": " "},
        expect="refused",
    ),
    Case(
        "address bad country",
        {"status": OrderStatus.PAID, "delivered_days": None},
        tool="address",
        args={**ADDR, "country": "Narnia"},
        expect="refused",
    ),
    Case(
        "address someone else's",
        {"status": OrderStatus.PAID, "delivered_days": None, "customer": "c2"},
        tool="address",
        expect="refused",
    ),
]
CASES += [
    Case(
        f"window day {d}",
        {"status": D, "delivered_days": d},
        expect="executed" if d <= 30 else "refused",
    )
    for d in (1, 7, 14, 29, 32, 60)
] + [
    Case(
        f"value {v}",
        {"status": D, "price": v},
        expect="executed" if Decimal(v) <= 250 else "approval",
    )
    for v in ("0.01", "99.99", "249.99", "251.00", "999.00")
]


async def _verified(services: Any) -> SupportContext:
    async with services.sessions.begin() as session:
        conversation = await repo.create_conversation(session, channel="test")
        await repo.bind_customer(session, conversation.id, "c1")
    return SupportContext(
        conversation_id=conversation.id,
        channel="test",
        deps=services.deps,
        owner_version=0,
        customer_id="c1",
    )


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
