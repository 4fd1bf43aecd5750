"""The OpenAI-compatible model's own HTTP client is closed when the app shuts down."""

from __future__ import annotations

import gc
import warnings
from typing import Any

import httpx
from fastapi.testclient import TestClient

from server import create_app
from services import build_services
from settings import Settings
from tests.fakes import NOW, MemoryStore


def test_the_model_client_is_closed_at_shutdown(
    llm_settings: Settings, embedder: Any, triager: Any
) -> None:
    holder: dict[str, Any] = {}

    async def build() -> Any:
        holder["services"] = await build_services(
            llm_settings, embedder=embedder, triager=triager, store=MemoryStore(), clock=lambda: NOW
        )
        return holder["services"]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with TestClient(create_app(llm_settings, build=build)):
            client = holder["services"].model.http_async_client
            assert isinstance(client, httpx.AsyncClient) and not client.is_closed
        assert client.is_closed
        del holder["services"]
        gc.collect()
    assert not [w for w in caught if "nclosed" in str(w.message)]
