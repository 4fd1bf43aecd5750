"""The commerce CLI after DemoStore writes: `orders --json` lists returns and cancellations,
`receive` refunds a return."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from commerce.demo.generate import DemoData
from commerce.demo.store import DemoStore
from tests.commerce.conftest import ANCHOR
from tests.commerce.demo_write_helpers import (  # noqa: F401 (fixtures)
    db,
    delivered,
    demo_data,
    first,
    paid,
    small_db,
    start_return,
)


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
