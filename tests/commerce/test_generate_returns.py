"""Every generated `returned` order has the return (RMA) that explains it: its items, the
refund to the original payment, received before the store's anchor. Other orders have none."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, select

from commerce.demo import schema as t
from commerce.demo.generate import generate_demo_data, generate_demo_store
from commerce.models import OrderStatus
from tests.commerce.conftest import ANCHOR


def test_returned_orders_have_their_return(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    generate_demo_store(path, seed=11, anchor=ANCHOR, customers=60, orders=400)
    data = generate_demo_data(seed=11, anchor=ANCHOR, customers=60, orders=400)
    returned = {o.number: o for o in data.orders if o.status is OrderStatus.RETURNED}
    assert returned, "the sample must contain returned orders"
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        rows = conn.execute(select(t.returns)).mappings().all()
        lines = conn.execute(select(t.return_items)).mappings().all()
    engine.dispose()
    assert {r["order_number"] for r in rows} == set(returned)
    for row in rows:
        order = returned[row["order_number"]]
        assert row["rma"] == f"RMA-{order.number.lstrip('#')}-1"
        assert row["customer_id"] == order.customer_id and row["status"] == "refunded"
        assert Decimal(str(row["refund_amount"])) == order.refunded_amount
        assert order.delivered_at is not None
        assert order.delivered_at < row["created_at"] < row["received_at"] <= ANCHOR
        got = {(r["line_item_id"], r["quantity"]) for r in lines if r["return_id"] == row["id"]}
        assert got == {(li.id, li.quantity) for li in order.line_items}
