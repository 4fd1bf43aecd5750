"""A throw-away PostgreSQL database per test, on the server .ci/run makes sure is running."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

ADMIN_DSN = os.environ.get("SUPPORT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
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
