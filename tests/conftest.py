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
    from knowledge.embedder import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def triager(embedder: Any) -> Any:
    from services import build_triager

    built = build_triager(embedder, None)  # with the engine's intent reader, as served
    built.warm()
    return built


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "data", demo=False)


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
