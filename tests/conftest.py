"""Shared fixtures. Everything runs in a temporary data dir; the embedding model is loaded once
per test session; nothing reaches the network."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from settings import Settings  # noqa: E402
from tests.fakes import CannedKnowledge, MemoryStore  # noqa: E402


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The product's embedder (knowledge.embedder.DEFAULT_BACKEND, or SUPPORT_EMBEDDER)."""
    from knowledge.embedder import make_embedder

    return make_embedder()


@pytest.fixture(scope="session")
def triager(embedder: Any) -> Any:
    from services import build_triager

    built = build_triager(embedder, None)  # with the engine's intent reader, as served
    built.warm()
    return built


# Every test that takes the `settings` fixture touches the database; the test command runs
# those tests twice: on SQLite, then with SUPPORT_TEST_DATABASE=postgres on PostgreSQL.
TEST_DATABASE = os.environ.get("SUPPORT_TEST_DATABASE", "sqlite")
POSTGRES_ADMIN = os.environ.get("SUPPORT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def run_sync(coro: Any) -> Any:
    """Runs a coroutine to completion from sync code, in a thread of its own (a test's event
    loop may already be running in this one)."""
    import asyncio

    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # handed back to the caller
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "settings" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def suite_postgres() -> Iterator[str]:
    """One PostgreSQL database for the PostgreSQL pass; each test starts from empty tables."""
    import uuid

    import asyncpg

    name = f"sa_suite_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        try:
            conn = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN}: {exc!r}")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_sync(admin(f'CREATE DATABASE "{name}"'))
    yield f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"
    run_sync(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_tables(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            if r["tablename"] != "alembic_version"
        ]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if TEST_DATABASE == "postgres":
        url = request.getfixturevalue("suite_postgres")
        run_sync(_empty_tables(url))
        return Settings(env="test", data_dir=tmp_path / "data", demo=False, database_url=url)
    return Settings(env="test", data_dir=tmp_path / "data", demo=False)


def count_rows(settings: Settings, statement: Any) -> Any:
    """A scalar from the test's database (SQLite or PostgreSQL), from sync test code."""
    from storage.engine import make_engine

    async def query() -> Any:
        engine = make_engine(settings.sqlalchemy_url)
        try:
            async with engine.connect() as conn:
                return (await conn.execute(statement)).scalar_one()
        finally:
            await engine.dispose()

    return run_sync(query())


def fetch_rows(settings: Settings, statement: Any) -> list[Any]:
    """All rows of a query on the test's database, from sync test code."""
    from storage.engine import make_engine

    async def query() -> list[Any]:
        engine = make_engine(settings.sqlalchemy_url)
        try:
            async with engine.connect() as conn:
                return [tuple(r) for r in (await conn.execute(statement)).all()]
        finally:
            await engine.dispose()

    return run_sync(query())


@pytest.fixture
async def make_services(
    settings: Settings, embedder: Any, triager: Any
) -> AsyncIterator[Callable[..., Any]]:
    """Builds Services over the tiny store and canned help center unless told otherwise."""
    from services import build_services

    built: list[Any] = []

    async def make(**overrides: Any) -> Any:
        overrides.setdefault("store", MemoryStore())
        overrides.setdefault("knowledge", CannedKnowledge())
        overrides.setdefault("triager", triager)
        services = await build_services(
            overrides.pop("settings", settings), embedder=embedder, **overrides
        )
        built.append(services)
        return services

    yield make
    for services in built:
        await services.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir with the generated demo store and the ingested demo help center."""
    return tmp_path_factory.mktemp("demo-data")


@pytest.fixture(scope="session")
def live_settings(demo_data_dir: Path) -> Settings:
    return Settings(env="test", data_dir=demo_data_dir, demo=True)


@pytest.fixture(scope="session")
def live_server(live_settings: Settings, embedder: Any, triager: Any) -> Iterator[str]:
    """The real product (create_app, demo store, demo help center, offline engine) served by
    uvicorn on a free loopback port, in its own thread and event loop. Yields the base URL."""
    import asyncio

    import uvicorn

    from server import create_app
    from services import build_services

    port = free_port()
    holder: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            services = loop.run_until_complete(
                build_services(live_settings, embedder=embedder, triager=triager)
            )
            config = uvicorn.Config(
                create_app(live_settings, services),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                ws_max_size=1 << 20,
            )
            holder["server"] = server = uvicorn.Server(config)
            loop.run_until_complete(server.serve())
            loop.run_until_complete(services.close())
        except BaseException as exc:  # surfaced to the waiting test below
            holder["error"] = exc
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not getattr(holder.get("server"), "started", False):
        if "error" in holder:
            raise RuntimeError(f"the live server failed: {holder['error']!r}")
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    holder["server"].should_exit = True
    thread.join(timeout=15)
