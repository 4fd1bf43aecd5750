"""A throw-away PostgreSQL database per test, on the server .ci/run makes sure is running."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from settings import Settings
from storage.engine import make_engine, make_sessionmaker
from storage.migrate import upgrade

ADMIN_DSN = os.environ.get("SUPPORT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@asynccontextmanager
async def throwaway_database() -> AsyncIterator[str]:
    """The URL of a new PostgreSQL database, dropped afterwards."""
    name = f"sa_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_DSN}: {exc!r} (.ci/run starts it)")
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with throwaway_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """A migrated database's sessionmaker, once on SQLite and once on a throw-away PostgreSQL
    database."""
    async with AsyncExitStack() as stack:
        url = (
            await stack.enter_async_context(throwaway_database())
            if request.param == "postgres"
            else None
        )
        engine = make_engine(Settings(data_dir=tmp_path, database_url=url).sqlalchemy_url)
        await upgrade(engine)
        yield make_sessionmaker(engine)
        await engine.dispose()
