"""Shared by the DemoStore write tests: a small demo store copied for each test, a snapshot and
diff of every row, order pickers, and `start_return` with sensible defaults."""

from __future__ import annotations

import functools
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from commerce.demo import schema as t
from commerce.demo.generate import DemoData, generate_demo_data
from commerce.demo.rows import build_store
from commerce.demo.store import DemoStore
from commerce.models import Order, OrderStatus, Resolution, ReturnLine
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


# Generated and built once for every module that imports these fixtures (a fixture imported
# into several modules is set up once per module; these used to serve one module).
@functools.cache
def _small_data() -> DemoData:
    return generate_demo_data(seed=SEED, anchor=ANCHOR, customers=60, orders=300)


@functools.cache
def _small_store(folder: Path) -> Path:
    data = _small_data()
    folder.mkdir(exist_ok=True)
    path = folder / "store.db"
    build_store(
        path,
        customers=data.customers,
        products=data.products,
        orders=data.orders,
        meta=data.meta,
    )
    return path


@pytest.fixture(scope="module")
def demo_data() -> DemoData:
    """A smaller store than the session's: every test copies and snapshots it."""
    return _small_data()


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _small_store(tmp_path_factory.getbasetemp() / "small-demo-store")


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
