"""DemoStore: the StoreBackend over the generated SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event

from commerce.backend import StoreBackend
from commerce.demo.generate import DemoData
from commerce.demo.store import DemoStore, ensure_demo_store
from commerce.models import OrderStatus
from errors import BackendError
from settings import Settings


@pytest.fixture
async def store(demo_db: Path) -> AsyncIterator[DemoStore]:
    store = DemoStore.open(demo_db)
    yield store
    await store.close()


def test_is_a_store_backend(demo_db: Path) -> None:
    store = DemoStore.open(demo_db)
    assert isinstance(store, StoreBackend)
    assert store.name == "demo"


@pytest.mark.parametrize("text", ["#1043", "1043", " order #1043 ", "Order 1043"])
async def test_find_order_normalizes_the_number(
    store: DemoStore, demo_data: DemoData, text: str
) -> None:
    order = await store.find_order(text)
    assert order is not None
    assert order == demo_data.orders[42]  # #1043 is the 43rd order; every field round-trips


@pytest.mark.parametrize("text", ["", "abc", "#12", "1043; drop table orders", "#99999"])
async def test_find_order_garbage_or_unknown_is_none(store: DemoStore, text: str) -> None:
    assert await store.find_order(text) is None


async def test_find_order_round_trips_shipments(store: DemoStore, demo_data: DemoData) -> None:
    partial = next(o for o in demo_data.orders if o.status is OrderStatus.PARTIALLY_SHIPPED)
    found = await store.find_order(partial.number)
    assert found == partial
    assert found is not None and found.shipments[0].events == partial.shipments[0].events


async def test_find_order_is_one_statement(store: DemoStore) -> None:
    await store.order_number_formats()  # read once per store, on the first lookup
    statements: list[str] = []
    sync_engine = store._engine.sync_engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(sync_engine, "before_cursor_execute", listener)
    try:
        assert await store.find_order("#1100") is not None
    finally:
        event.remove(sync_engine, "before_cursor_execute", listener)
    assert len(statements) == 1


async def test_list_orders_by_email_newest_first(store: DemoStore, demo_data: DemoData) -> None:
    email = demo_data.orders[42].email
    expected = [o.number for o in reversed(demo_data.orders) if o.email == email]
    found = await store.list_orders(email=f"  {email.upper()} ")
    assert [o.number for o in found] == expected[:20]
    assert len(expected) >= 2


async def test_list_orders_filters_combine(store: DemoStore, demo_data: DemoData) -> None:
    customer_id = demo_data.orders[42].customer_id
    found = await store.list_orders(customer_id=customer_id, status=OrderStatus.DELIVERED)
    expected = [
        o.number
        for o in reversed(demo_data.orders)
        if o.customer_id == customer_id and o.status is OrderStatus.DELIVERED
    ]
    assert [o.number for o in found] == expected[:20]


async def test_list_orders_status_and_limit(store: DemoStore, demo_data: DemoData) -> None:
    found = await store.list_orders(status=OrderStatus.SHIPPED, limit=5)
    expected = [o for o in reversed(demo_data.orders) if o.status is OrderStatus.SHIPPED][:5]
    assert found == expected
    newest = await store.list_orders(limit=3)
    assert [o.number for o in newest] == [o.number for o in demo_data.orders[-1:-4:-1]]
    assert await store.list_orders(email="nobody@example.com") == []


async def test_customer_and_product_lookups(store: DemoStore, demo_data: DemoData) -> None:
    customer = demo_data.customers[10]
    assert await store.get_customer(customer.id) == customer
    assert await store.get_customer("cus_missing") is None
    product = demo_data.products[0]
    assert await store.get_product(product.id) == product
    assert await store.get_product("prod_missing") is None


async def test_ping(demo_db: Path, tmp_path: Path) -> None:
    store = DemoStore.open(demo_db)
    assert await store.ping() is True
    await store.close()
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database")
    bad = DemoStore.open(broken)
    assert await bad.ping() is False
    await bad.close()


def test_open_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="store seed"):
        DemoStore.open(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


async def test_ensure_demo_store_generates_once(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path / "data", demo_customers=30, demo_orders=120)
    path = ensure_demo_store(settings)
    assert path == settings.demo_store_path and path.is_file()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    stamp = path.stat().st_mtime_ns
    assert ensure_demo_store(settings) == path
    assert path.stat().st_mtime_ns == stamp  # kept, not regenerated
    store = DemoStore.open(path)
    assert len(await store.list_orders(limit=1000)) == 120
    await store.close()
