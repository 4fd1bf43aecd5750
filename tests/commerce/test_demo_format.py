"""The demo store file's format version: an older file is upgraded when opened, a newer one is
refused."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from commerce.demo import schema as t
from commerce.demo.generate import DemoData
from commerce.demo.store import DemoStore
from errors import BackendError
from tests.commerce.conftest import ANCHOR
from tests.commerce.demo_write_helpers import (  # noqa: F401 (fixtures)
    db,
    delivered,
    demo_data,
    first,
    small_db,
    start_return,
)


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
