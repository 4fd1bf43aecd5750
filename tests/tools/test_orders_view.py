"""get_order's answer: item prices, totals, the masked payment method, shipments, and the
order's returns and refunds; and the offline engine's status reply built from it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from agent.local.replies import order_reply
from commerce.models import Resolution, ReturnLine
from tests.fakes import MemoryStore
from tests.tools.test_tools import _ctx, call
from tools.identity import verify_customer
from tools.orders import get_order


def paid_store() -> MemoryStore:
    store = MemoryStore()
    order = store.orders["#1002"]
    store.orders["#1002"] = order.model_copy(
        update={"payment_method": "Visa •••• 4242", "refunded_amount": Decimal("14.00")}
    )
    return store


async def verified(services: Any) -> Any:
    ctx = await _ctx(services)
    done = await call(verify_customer, ctx, order_number="#1002", email="ada@example.com")
    assert done.status != "error", done.content
    return ctx


async def test_get_order_gives_prices_totals_payment_and_returns(make_services: Any) -> None:
    store = paid_store()
    sock = store.orders["#1002"].line_items[1]
    await store.create_return(
        order_number="#1002",
        lines=[ReturnLine(line_item_id=sock.id, quantity=1)],
        reason="too_small",
        resolution=Resolution.REFUND,
        refund_amount=Decimal("14.00"),
        restocking_fee=Decimal("0.00"),
        idempotency_key="k-1",
    )
    services = await make_services(store=store)
    ctx = await verified(services)
    view = json.loads(str((await call(get_order, ctx, order_number="1002")).content))
    order = store.orders["#1002"]
    assert (view["subtotal"], view["shipping"], view["tax"], view["total"]) == (
        f"{order.subtotal:.2f}",
        f"{order.shipping_cost:.2f}",
        f"{order.tax:.2f}",
        f"{order.total:.2f}",
    )
    assert view["payment_method"] == "Visa •••• 4242"
    assert [(i["name"], i["price"], i["line_total"]) for i in view["items"]] == [
        (li.name, f"{li.unit_price:.2f}", f"{li.total:.2f}") for li in order.line_items
    ]
    assert view["refunded"] == "14.00"
    [ret] = view["returns"]
    assert ret["rma"].startswith("RMA-") and ret["refund_amount"] == "14.00"
    assert ret["items"] == [
        {"name": sock.name, "variant": sock.variant_title, "quantity": 1, "exchange_for": None}
    ]


async def test_get_order_still_needs_verification(make_services: Any) -> None:
    services = await make_services(store=paid_store())
    ctx = await _ctx(services)
    refused = await call(get_order, ctx, order_number="#1002")
    assert refused.status == "error" and "Visa" not in str(refused.content)


def _view(**changes: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "order_number": "#1043",
        "status": "delivered",
        "placed_on": "2026-11-01",
        "delivered_on": "2026-11-05",
        "currency": "USD",
        "subtotal": "143.00",
        "shipping": "0.00",
        "tax": "10.37",
        "total": "153.37",
        "payment_method": "Visa •••• 4242",
        "refunded": "0.00",
        "items": [
            {"name": "Trail Runner", "variant": "9 / Black", "quantity": 1, "price": "129.00"},
            {"name": "Merino Sock", "variant": "M", "quantity": 2, "price": "7.00"},
        ],
        "shipments": [],
        "returns": [],
    }
    return {**view, **changes}


def test_the_status_reply_shows_prices_total_and_payment() -> None:
    reply = order_reply(_view())
    assert "1 × Trail Runner (9 / Black) $129.00" in reply
    assert "2 × Merino Sock (M) $7.00 each" in reply
    assert (
        "Total: $153.37 (items $143.00, shipping $0.00, tax $10.37), paid with Visa •••• 4242."
        in reply
    )
    assert "Refunded" not in reply


def test_the_status_reply_shows_refunds_and_returns_in_the_orders_currency() -> None:
    returns = [
        {
            "rma": "RMA-1043-1",
            "status": "refunded",
            "resolution": "refund",
            "refund_amount": "14.00",
            "items": [{"name": "Merino Sock", "quantity": 2}],
        },
        {
            "rma": "RMA-1043-2",
            "status": "open",
            "resolution": "exchange",
            "refund_amount": "0.00",
            "items": [{"name": "Trail Runner", "quantity": 1}],
        },
    ]
    reply = order_reply(
        _view(currency="EUR", refunded="14.00", payment_method=None, returns=returns)
    )
    assert "Total: 153.37 EUR (items 143.00 EUR" in reply and "paid with" not in reply
    assert "Refunded so far: 14.00 EUR." in reply
    assert "Return RMA-1043-1 (2 × Merino Sock): refunded, refund of 14.00 EUR." in reply
    assert "Exchange RMA-1043-2 (1 × Trail Runner): open." in reply


def test_a_view_without_money_fields_still_reads() -> None:
    old = {k: v for k, v in _view().items() if k not in ("subtotal", "shipping", "tax")}
    assert "Total" not in order_reply(old) and "Trail Runner" in order_reply(old)


async def test_an_amount_due_after_a_dearer_change_is_in_the_view_and_the_reply(
    make_services: Any,
) -> None:
    store = paid_store()
    store.orders["#1002"] = store.orders["#1002"].model_copy(
        update={"amount_due": Decimal("6.50")}
    )
    services = await make_services(store=store)
    ctx = await verified(services)
    view = json.loads(str((await call(get_order, ctx, order_number="#1002")).content))
    assert view["amount_due"] == "6.50"
    reply = order_reply(view)
    assert "Still to pay for the changes to this order: $6.50, through the payment link" in reply
    # nothing due: nothing said
    assert "Still to pay" not in order_reply({**view, "amount_due": "0.00"})
