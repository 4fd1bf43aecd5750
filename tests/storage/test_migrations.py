"""Migrations from empty, on SQLite and PostgreSQL; SQLite durability settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from settings import Settings
from storage.engine import make_engine
from storage.migrate import current_revision, head_revision, upgrade

TABLES = {"conversations", "messages", "escalations", "audit_log", "alembic_version"}


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


async def test_sqlite_from_empty_to_head_and_idempotent(tmp_path: Path) -> None:
    url = Settings(data_dir=tmp_path).sqlalchemy_url
    engine = make_engine(url)
    assert await current_revision(engine) is None
    await upgrade(engine)
    await upgrade(engine)  # a second start changes nothing
    assert await current_revision(engine) == head_revision()
    assert TABLES <= await _tables(url)
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await engine.dispose()


@pytest.mark.postgres
async def test_postgres_from_empty_to_head(postgres_url: str) -> None:
    url = Settings(database_url=postgres_url).sqlalchemy_url
    assert url.startswith("postgresql+asyncpg://")
    engine = make_engine(url)
    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
    assert TABLES <= await _tables(url)
    await engine.dispose()


def test_exactly_one_alembic_head() -> None:
    """Several issues add migrations; two heads would make `upgrade head` fail at start."""
    from alembic.script import ScriptDirectory

    from storage.migrate import _config

    heads = ScriptDirectory.from_config(_config()).get_heads()
    assert len(heads) == 1, f"more than one migration head: {heads}"


def test_model_matches_migrations(tmp_path: Path) -> None:
    """The tables the code declares are the tables the migrations build (no autogenerate diff)."""
    import asyncio

    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import storage.tables_console  # noqa: F401
    import storage.tables_email  # noqa: F401
    import storage.tables_helpdesk  # noqa: F401
    import storage.tables_llm  # noqa: F401
    import storage.tables_notify  # noqa: F401
    import storage.tables_security  # noqa: F401
    import storage.tables_widget  # noqa: F401
    from storage.tables import Base

    url = Settings(data_dir=tmp_path).sqlalchemy_url

    async def diff() -> list[object]:
        engine = make_engine(url)
        await upgrade(engine)
        async with engine.connect() as conn:
            found = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
        await engine.dispose()
        return list(found)

    assert asyncio.run(diff()) == []
