"""bench/db_statements.py runs its operations on both databases: through the storage layer,
through the fast path (storage/fastpath.py) and as the same SQL straight through the driver,
against the real schema (a renamed column or table makes the raw SQL fail here). Timings are
never asserted, only that every operation ran."""

from __future__ import annotations

import asyncio

import pytest

from bench.db_statements import _measure

OPERATIONS = {
    "write transaction, no statement",
    "conversation row (transaction + 1 SELECT)",
    "message window, 8 rows (transaction + 1 SELECT)",
    "reply compare-and-set (transaction + 1 UPDATE)",
}


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_every_operation_runs_through_both_paths(database: str) -> None:
    rows = asyncio.run(_measure(database, rounds=3))
    assert {r["operation"] for r in rows} == OPERATIONS
    assert all(r["database"] == database for r in rows)
    assert all(r["storage_layer_ms"] > 0 and r["driver_ms"] >= 0 for r in rows)
    assert all(r["fast_path_ms"] > 0 for r in rows)
    rows_touched = {r["operation"]: r["driver_rows"] for r in rows}
    assert rows_touched == {
        "write transaction, no statement": 0,
        "conversation row (transaction + 1 SELECT)": 1,
        "message window, 8 rows (transaction + 1 SELECT)": 8,
        "reply compare-and-set (transaction + 1 UPDATE)": 1,
    }
