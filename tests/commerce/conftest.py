"""Shared fixtures: the full demo store, generated once per session at a fixed anchor."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from commerce.demo.generate import DemoData, generate_demo_data
from commerce.demo.rows import build_store

ANCHOR = datetime(2025, 6, 1, tzinfo=UTC)
SEED = 1001


@pytest.fixture(scope="session")
def demo_data() -> DemoData:
    return generate_demo_data(seed=SEED, anchor=ANCHOR)


@pytest.fixture(scope="session")
def demo_db(demo_data: DemoData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full demo store file. Read-only: tests that write copy it first."""
    path = tmp_path_factory.mktemp("demo") / "demo_store.db"
    build_store(
        path,
        customers=demo_data.customers,
        products=demo_data.products,
        orders=demo_data.orders,
        meta=demo_data.meta,
    )
    return path
