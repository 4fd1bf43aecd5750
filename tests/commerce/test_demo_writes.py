"""DemoStore returns: each write changes exactly the rows it should, refuses what the store must
not do, and happens once per idempotency key, even under 50 concurrent callers."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from commerce.backend import StoreBackend
from commerce.demo.generate import DemoData
from commerce.demo.returns import instruction_texts
from commerce.demo.store import DemoStore
from commerce.models import OrderStatus, Resolution, ReturnLine
from errors import BackendError
from tests.commerce.conftest import ANCHOR

# test_demo_edits imports the fixtures, diff and snapshot from here
from tests.commerce.demo_write_helpers import (  # noqa: F401 (fixtures, names re-exported)
    PAST_KEY,
    db,
    delivered,
    demo_data,
    diff,
    first,
    new_returns,
    paid,
    small_db,
    snapshot,
    start_return,
    store,
)


def test_demo_store_is_a_store_backend(store: DemoStore) -> None:
    assert isinstance(store, StoreBackend)


# --- returns ---------------------------------------------------------------------------------


async def test_create_return_changes_exactly_the_expected_rows(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    order = first(demo_data, delivered("US"))
    item = order.line_items[0]
    before = snapshot(db)
    record = await start_return(store, order, "k-1")

    digits = order.number[1:]
    assert record.rma == f"RMA-{digits}-1" and record.id == f"ret_{digits}_1"
    assert record.status == "open" and record.customer_id == order.customer_id
    assert record.created_at == ANCHOR and record.idempotency_key == "k-1"
    assert record.lines == [ReturnLine(line_item_id=item.id, quantity=1)]
    assert "prepaid return label" in record.instructions and record.rma in record.instructions
    assert "tags attached" in record.instructions
    assert f"${item.unit_price:,.2f}" in record.instructions  # the refund waits for the parcel

    assert diff(before, snapshot(db)) == {
        "returns": {"added": 1, "removed": 0, "changed": {}},
        "return_items": {"added": 1, "removed": 0, "changed": {}},
        "applied_operations": {"added": 1, "removed": 0, "changed": {}},
        "line_items": {
            "added": 0,
            "removed": 0,
            "changed": {(item.id,): {"returned_quantity": (0, 1)}},
        },
    }
    after = await store.find_order(order.number)
    assert after is not None
    assert after.status is OrderStatus.DELIVERED and after.refunded_amount == order.refunded_amount
    listed = await store.list_returns(customer_id=order.customer_id)
    assert [r for r in listed if not r.idempotency_key.startswith(PAST_KEY)] == [record]
    assert await store.list_returns(order_number=order.number[1:]) == [record]
    assert await store.list_returns(order_number="not a number") == []


async def test_second_return_on_the_same_order_gets_the_next_rma(
    store: DemoStore, demo_data: DemoData
) -> None:
    order = first(demo_data, delivered("US"))
    one = await start_return(store, order, "k-1")
    other = order.line_items[1]
    two = await start_return(
        store,
        order,
        "k-2",
        lines=[ReturnLine(line_item_id=other.id, quantity=1)],
        refund_amount=other.unit_price,
    )
    assert (one.rma, two.rma) == (f"RMA-{order.number[1:]}-1", f"RMA-{order.number[1:]}-2")
    assert [r.rma for r in await store.list_returns(order_number=order.number)] == [
        two.rma,
        one.rma,
    ]


async def test_outside_the_us_the_instructions_give_the_warehouse_address(
    store: DemoStore, demo_data: DemoData
) -> None:
    order = first(demo_data, lambda o: delivered("GB")(o) or delivered("DE")(o))
    record = await start_return(
        store,
        order,
        "k-1",
        restocking_fee=Decimal("1.00"),
        refund_amount=order.line_items[0].unit_price - 1,
    )
    assert instruction_texts()["warehouse"] in record.instructions
    assert "prepaid" not in record.instructions
    assert "restocking fee" in record.instructions and order.currency in ("USD",)


async def test_same_key_replays_and_changes_nothing(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    order = first(demo_data, delivered())
    record = await start_return(store, order, "k-1")
    before = snapshot(db)
    assert await start_return(store, order, "k-1") == record
    assert diff(before, snapshot(db)) == {}


async def test_50_concurrent_duplicates_make_one_return(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    order = first(demo_data, delivered())
    results = await asyncio.gather(*(start_return(store, order, "same-key") for _ in range(50)))
    assert {r.rma for r in results} == {f"RMA-{order.number[1:]}-1"}
    assert len({r.model_dump_json() for r in results}) == 1
    rows = snapshot(db)
    assert len(new_returns(rows)) == 1 and len(rows["applied_operations"]) == 1
    assert rows["line_items"][(order.line_items[0].id,)]["returned_quantity"] == 1


async def test_50_concurrent_different_keys_never_overdraw(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    order = first(demo_data, lambda o: delivered()(o) and o.line_items[0].quantity == 1)
    outcomes = await asyncio.gather(
        *(start_return(store, order, f"key-{i}") for i in range(50)), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, BackendError)]
    assert len(refused) == 49 and not any(e.retryable for e in refused)
    assert len(new_returns(snapshot(db))) == 1


async def test_different_key_for_the_same_items_is_refused_for_quantity(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    order = first(demo_data, lambda o: delivered()(o) and o.line_items[0].quantity == 1)
    await start_return(store, order, "k-1")
    before = snapshot(db)
    with pytest.raises(BackendError, match="only 0 of") as refused:
        await start_return(store, order, "k-2")
    assert refused.value.retryable is False
    assert diff(before, snapshot(db)) == {}


def _bad_returns(data: DemoData) -> list[tuple[str, str, dict[str, Any]]]:
    order = first(data, delivered())
    item = order.line_items[0]
    other = next(o for o in data.orders if o.number != order.number)
    line = ReturnLine(line_item_id=item.id, quantity=1)
    return [
        ("unknown order", "does not exist", {"order_number": "#99999"}),
        ("garbage number", "not an order number", {"order_number": "drop table"}),
        (
            "item of another order",
            "is not an item of order",
            {"lines": [ReturnLine(line_item_id=other.line_items[0].id, quantity=1)]},
        ),
        ("too many", "can still be returned", {"quantity": item.quantity + 1}),
        ("listed twice", "listed twice", {"lines": [line, line]}),
        ("no lines", "at least one item", {"lines": []}),
        (
            "refund above value",
            "more than the items are worth",
            {"refund_amount": item.unit_price + Decimal("0.01")},
        ),
        ("negative fee", "cannot be negative", {"restocking_fee": Decimal("-1")}),
        (
            "exchange without variant",
            "exchange names the variant",
            {"resolution": Resolution.EXCHANGE},
        ),
        (
            "unknown variant",
            "not a variant this store sells",
            {
                "resolution": Resolution.EXCHANGE,
                "lines": [line.model_copy(update={"exchange_sku": "NOPE-1"})],
            },
        ),
        ("empty reason", "needs a reason", {"reason": "  "}),
        ("paid order", "nothing on it can be returned", {"order_number": first(data, paid).number}),
        (
            "cancelled order",
            "nothing on it can be returned",
            {"order_number": first(data, lambda o: o.status is OrderStatus.CANCELLED).number},
        ),
    ]


@pytest.mark.parametrize("case", range(13))
async def test_bad_returns_are_refused_and_change_nothing(
    store: DemoStore, db: Path, demo_data: DemoData, case: int
) -> None:
    cases = _bad_returns(demo_data)
    assert len(cases) == 13
    _name, message, changes = cases[case]
    order = first(demo_data, delivered())
    quantity = changes.pop("quantity", 1)
    before = snapshot(db)
    with pytest.raises(BackendError, match=message) as refused:
        await start_return(store, order, f"bad-{case}", quantity=quantity, **changes)
    assert refused.value.retryable is False
    assert diff(before, snapshot(db)) == {}


async def test_exchange_names_the_new_variant(store: DemoStore, demo_data: DemoData) -> None:
    order = first(demo_data, delivered())
    product = next(p for p in demo_data.products if p.id == order.line_items[0].product_id)
    wanted = product.variants[-1]
    record = await start_return(
        store,
        order,
        "k-x",
        resolution=Resolution.EXCHANGE,
        refund_amount=Decimal("0"),
        lines=[
            ReturnLine(line_item_id=order.line_items[0].id, quantity=1, exchange_sku=wanted.sku)
        ],
    )
    assert record.resolution is Resolution.EXCHANGE
    assert f"{product.title}, {wanted.title}" in record.instructions


async def test_receiving_a_refund_return_refunds_and_updates_the_order(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    order = first(demo_data, delivered())
    item = order.line_items[0]
    record = await start_return(store, order, "k-1")
    before = snapshot(db)
    received = await store.receive_return(rma=record.rma)
    assert received.status == "refunded"
    changes = diff(before, snapshot(db))
    assert changes["line_items"]["changed"] == {(item.id,): {"refunded_quantity": (0, 1)}}
    assert changes["orders"]["changed"][(order.id,)].keys() == {"status", "refunded_amount"}
    assert changes["returns"]["changed"][(record.id,)].keys() == {"status", "received_at"}
    after = await store.find_order(order.number)
    assert after is not None and after.status is OrderStatus.PARTIALLY_REFUNDED
    assert after.refunded_amount == order.refunded_amount + item.unit_price
    again = snapshot(db)
    assert await store.receive_return(rma=record.rma) == received  # replays
    assert diff(again, snapshot(db)) == {}


async def test_returning_everything_makes_the_order_returned(
    store: DemoStore, demo_data: DemoData
) -> None:
    order = first(demo_data, delivered())
    lines = [ReturnLine(line_item_id=i.id, quantity=i.quantity) for i in order.line_items]
    record = await start_return(store, order, "all", lines=lines, refund_amount=order.subtotal)
    await store.receive_return(rma=record.rma)
    after = await store.find_order(order.number)
    assert after is not None and after.status is OrderStatus.RETURNED
    assert all(i.returned_quantity == i.refunded_quantity == i.quantity for i in after.line_items)


def test_instruction_texts_use_only_known_placeholders() -> None:
    import string

    allowed = {
        "warehouse": set(),
        "label_url": {"rma"},
        "prepaid_label": {"label_url"},
        "ship_back": {"warehouse"},
        "packing": {"rma"},
        "refund": {"amount"},
        "store_credit": {"amount"},
        "exchange": {"variant"},
        "restocking_fee": {"fee"},
    }
    texts = instruction_texts()
    assert texts.keys() == allowed.keys()
    for key, text in texts.items():
        used = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        assert used == allowed[key], key


async def test_a_crash_between_commit_and_reply_does_not_duplicate(
    store: DemoStore, db: Path, demo_data: DemoData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transaction commits, then the process dies before the caller hears back; the caller
    retries with the same key and gets the committed return, not a second one."""
    from commerce.models import ReturnRecord

    order = first(demo_data, delivered())
    real = ReturnRecord.model_validate_json

    def crash(*_args: Any, **_kwargs: Any) -> Any:
        raise ConnectionResetError("reply lost")

    monkeypatch.setattr(ReturnRecord, "model_validate_json", crash)
    with pytest.raises(ConnectionResetError):
        await start_return(store, order, "k-crash")
    assert len(new_returns(snapshot(db))) == 1  # committed before the "crash"
    monkeypatch.setattr(ReturnRecord, "model_validate_json", real)
    record = await start_return(store, order, "k-crash")
    rows = snapshot(db)
    assert len(new_returns(rows)) == 1 and record.rma.endswith("-1")
    assert rows["line_items"][(order.line_items[0].id,)]["returned_quantity"] == 1
