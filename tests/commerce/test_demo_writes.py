"""DemoStore writes: each changes exactly the rows it should, refuses what the store must not do,
and happens once per idempotency key, even under 50 concurrent callers."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from commerce.backend import StoreBackend
from commerce.demo import schema as t
from commerce.demo.generate import DemoData, generate_demo_data
from commerce.demo.returns import instruction_texts
from commerce.demo.rows import build_store
from commerce.demo.store import DemoStore
from commerce.models import Address, Order, OrderStatus, Resolution, ReturnLine
from errors import BackendError
from tests.commerce.conftest import ANCHOR, SEED

Rows = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


# the returns the generator made for its `returned` orders (commerce/demo/rows._past_returns)
PAST_KEY = "demo-return-"


def new_returns(rows: Rows) -> list[Any]:
    """The return rows the test's writes made: not those of the generated returned orders."""
    return [r for r in rows["returns"].values() if not r["idempotency_key"].startswith(PAST_KEY)]


def snapshot(path: Path) -> Rows:
    """Every row of every table, keyed by primary key."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        rows: Rows = {}
        for table in t.metadata.sorted_tables:
            pk = [c.name for c in table.primary_key.columns]
            rows[table.name] = {
                tuple(r[k] for k in pk): dict(r)
                for r in conn.execute(f"SELECT * FROM {table.name}")
            }
        return rows
    finally:
        conn.close()


def diff(before: Rows, after: Rows) -> dict[str, dict[str, Any]]:
    """{table: {"added": n, "removed": n, "changed": {pk: {column: (old, new)}}}}, only tables
    that changed."""
    out: dict[str, dict[str, Any]] = {}
    for table, old in before.items():
        new = after[table]
        changed = {
            key: {c: (old[key][c], new[key][c]) for c in old[key] if old[key][c] != new[key][c]}
            for key in old.keys() & new.keys()
            if old[key] != new[key]
        }
        entry = {
            "added": len(new.keys() - old.keys()),
            "removed": len(old.keys() - new.keys()),
            "changed": changed,
        }
        if entry["added"] or entry["removed"] or changed:
            out[table] = entry
    return out


@pytest.fixture(scope="module")
def demo_data() -> DemoData:
    """A smaller store than the session's: every test copies and snapshots it."""
    return generate_demo_data(seed=SEED, anchor=ANCHOR, customers=60, orders=300)


@pytest.fixture(scope="module")
def small_db(demo_data: DemoData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("writes") / "store.db"
    build_store(
        path,
        customers=demo_data.customers,
        products=demo_data.products,
        orders=demo_data.orders,
        meta=demo_data.meta,
    )
    return path


@pytest.fixture
def db(small_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store.db"
    shutil.copyfile(small_db, copy)
    return copy


@pytest.fixture
async def store(db: Path) -> AsyncIterator[DemoStore]:
    store = DemoStore.open(db, clock=lambda: ANCHOR)
    yield store
    await store.close()


def first(data: DemoData, test: Callable[[Order], bool]) -> Order:
    return next(o for o in data.orders if test(o))


def delivered(country: str = "US") -> Callable[[Order], bool]:
    return lambda o: (
        o.status is OrderStatus.DELIVERED
        and o.shipping_address.country == country
        and len(o.line_items) >= 2
    )


def paid(o: Order) -> bool:
    return o.status is OrderStatus.PAID


def shipped(o: Order) -> bool:
    return o.status is OrderStatus.SHIPPED


async def start_return(
    store: DemoStore, order: Order, key: str, quantity: int = 1, **extra: Any
) -> Any:
    item = order.line_items[0]
    args: dict[str, Any] = {
        "order_number": order.number,
        "lines": [ReturnLine(line_item_id=item.id, quantity=quantity)],
        "reason": "wrong_size",
        "resolution": Resolution.REFUND,
        "refund_amount": item.unit_price * quantity,
        "restocking_fee": Decimal("0.00"),
        "idempotency_key": key,
    }
    return await store.create_return(**{**args, **extra})


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


# --- cancellations and address changes -------------------------------------------------------


async def test_cancel_changes_exactly_the_order_and_replays(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    order = first(demo_data, paid)
    before = snapshot(db)
    cancelled = await store.cancel_order(
        order_number=order.number,
        reason="Customer request: ordered the wrong size",
        idempotency_key="c-1",
    )
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.cancelled_at == ANCHOR
    assert cancelled.cancel_reason == "Customer request: ordered the wrong size"
    assert cancelled.refunded_amount == order.total  # a captured payment is refunded in full
    changes = diff(before, snapshot(db))
    assert changes.keys() == {"orders", "applied_operations"}
    assert changes["orders"]["changed"][(order.id,)].keys() == {
        "status",
        "cancelled_at",
        "cancel_reason",
        "refunded_amount",
    }
    middle = snapshot(db)
    same = await store.cancel_order(
        order_number=order.number, reason="again", idempotency_key="c-1"
    )
    assert same == cancelled and diff(middle, snapshot(db)) == {}
    with pytest.raises(BackendError, match="already cancelled") as refused:
        await store.cancel_order(order_number=order.number, reason="x", idempotency_key="c-2")
    assert refused.value.retryable is False
    assert diff(middle, snapshot(db)) == {}


async def test_cancel_refuses_shipped_and_unknown_orders(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    before = snapshot(db)
    with pytest.raises(BackendError, match="already shipped"):
        await store.cancel_order(
            order_number=first(demo_data, shipped).number, reason="x", idempotency_key="c-1"
        )
    with pytest.raises(BackendError, match="does not exist"):
        await store.cancel_order(order_number="#99999", reason="x", idempotency_key="c-2")
    assert diff(before, snapshot(db)) == {}


NEW_ADDRESS = Address(
    name="Jo Rivera",
    line1="1 Elm St",
    line2="Apt 2",
    city="Portland",
    region="OR",
    postal_code="97205",
    country="US",
)


async def test_address_change_changes_only_the_shipping_columns(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    order = first(demo_data, paid)
    customer_before = await store.get_customer(order.customer_id)
    before = snapshot(db)
    updated = await store.update_shipping_address(
        order_number=order.number, address=NEW_ADDRESS, idempotency_key="a-1"
    )
    assert updated.shipping_address == NEW_ADDRESS
    changes = diff(before, snapshot(db))
    assert changes.keys() == {"orders", "applied_operations"}
    assert set(changes["orders"]["changed"][(order.id,)]) <= {
        f"ship_{f}" for f in ("name", "line1", "line2", "city", "region", "postal_code", "country")
    }
    assert await store.get_customer(order.customer_id) == customer_before
    other = NEW_ADDRESS.model_copy(update={"line1": "9 Oak Ave"})
    replay = await store.update_shipping_address(
        order_number=order.number, address=other, idempotency_key="a-1"
    )
    assert replay == updated  # the key decides, not the arguments


@pytest.mark.parametrize(
    ("pick", "address", "message"),
    [
        (shipped, NEW_ADDRESS, "already shipped"),
        (lambda o: o.status is OrderStatus.CANCELLED, NEW_ADDRESS, "already cancelled"),
        (paid, NEW_ADDRESS.model_copy(update={"country": "Germany"}), "two-letter"),
        (paid, NEW_ADDRESS.model_copy(update={"line1": " "}), "needs a line1"),
    ],
)
async def test_address_change_refusals_change_nothing(
    store: DemoStore,
    db: Path,
    demo_data: DemoData,
    pick: Callable[[Order], bool],
    address: Address,
    message: str,
) -> None:
    before = snapshot(db)
    with pytest.raises(BackendError, match=message):
        await store.update_shipping_address(
            order_number=first(demo_data, pick).number, address=address, idempotency_key="a-x"
        )
    assert diff(before, snapshot(db)) == {}


async def test_a_key_cannot_be_reused_for_another_action(
    store: DemoStore, demo_data: DemoData
) -> None:
    order = first(demo_data, paid)
    await store.update_shipping_address(
        order_number=order.number, address=NEW_ADDRESS, idempotency_key="k"
    )
    with pytest.raises(BackendError, match="already used for address_change"):
        await store.cancel_order(order_number=order.number, reason="x", idempotency_key="k")
    with pytest.raises(BackendError, match="idempotency key"):
        await store.cancel_order(order_number=order.number, reason="x", idempotency_key="")


# --- format upgrade --------------------------------------------------------------------------


def _downgrade_to_v1(path: Path) -> None:
    conn = sqlite3.connect(path)
    for table in ("return_items", "returns", "applied_operations"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'format_version'")
    conn.commit()
    conn.close()


async def test_a_format_1_file_is_upgraded_when_opened(db: Path, demo_data: DemoData) -> None:
    _downgrade_to_v1(db)
    store = DemoStore.open(db, clock=lambda: ANCHOR)
    try:
        record = await start_return(store, first(demo_data, delivered()), "k-1")
        assert record.rma.startswith("RMA-")
    finally:
        await store.close()
    conn = sqlite3.connect(db)
    version = conn.execute("SELECT value FROM meta WHERE key='format_version'").fetchone()
    conn.close()
    assert version == (t.FORMAT_VERSION,)


def test_a_newer_format_is_refused(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'format_version'")
    conn.commit()
    conn.close()
    with pytest.raises(BackendError, match="format 99"):
        DemoStore.open(db)


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


# --- the CLI shows returns and cancellations -------------------------------------------------


def test_orders_json_lists_returns_and_receive_refunds(
    db: Path, demo_data: DemoData, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from commerce.cli import app

    monkeypatch.setenv("SUPPORT_DATA_DIR", str(db.parent))
    db.rename(db.parent / "demo_store.db")
    order = first(demo_data, delivered())
    to_cancel = first(demo_data, paid)

    async def act() -> Any:  # the CLI runs its own event loop, so the test must not
        store = DemoStore.open(db.parent / "demo_store.db", clock=lambda: ANCHOR)
        try:
            await store.cancel_order(order_number=to_cancel.number, reason="x", idempotency_key="c")
            return await start_return(store, order, "k-1")
        finally:
            await store.close()

    record = asyncio.run(act())

    runner = CliRunner()
    listed = runner.invoke(app, ["orders", "--json", "--limit", "1000"])
    assert listed.exit_code == 0, listed.output
    by_number = {o["number"]: o for o in json.loads(listed.output)}
    assert by_number[order.number]["returns"] == [
        {
            "rma": record.rma,
            "status": "open",
            "resolution": "refund",
            "items": [{"sku": order.line_items[0].sku, "quantity": 1}],
        }
    ]
    assert by_number[to_cancel.number]["status"] == "cancelled"
    assert by_number[to_cancel.number]["returns"] == []

    received = runner.invoke(app, ["receive", record.rma.lower()])
    assert received.exit_code == 0 and "refunded" in received.output
    again = json.loads(runner.invoke(app, ["orders", "--json", "--limit", "1000"]).output)
    mine = next(o for o in again if o["number"] == order.number)
    assert mine["returns"][0]["status"] == "refunded" and mine["status"] == "partially_refunded"
    missing = runner.invoke(app, ["receive", "RMA-1-1"])
    assert missing.exit_code == 1 and "does not exist" in missing.output


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
