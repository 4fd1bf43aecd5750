"""Fixtures of the LLM-path tests: the scripted OpenAI-compatible server and Services whose
model is the real ChatOpenAI client pointed at it (the offline engine as the fallback)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from settings import Settings
from tests.agent.llm.fake_server import ScriptedOpenAI
from tests.fakes import NOW


@pytest.fixture(scope="session")
def openai_server() -> Iterator[ScriptedOpenAI]:
    server = ScriptedOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def fake_openai(openai_server: ScriptedOpenAI) -> Iterator[ScriptedOpenAI]:
    openai_server.script.clear()
    openai_server.requests.clear()
    openai_server.overrun = 0
    yield openai_server
    openai_server.script.clear()


@pytest.fixture
def llm_settings(settings: Settings, fake_openai: ScriptedOpenAI) -> Settings:
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "openai_base_url": fake_openai.url,
            "openai_model": "gpt-4o-mini",
            "openai_timeout_s": 10.0,
        }
    )


@pytest.fixture
async def llm_services(make_services: Any, llm_settings: Settings) -> Any:
    return await make_services(settings=llm_settings, clock=lambda: NOW)


def call(name: str, _id: str = "call_1", **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments, "id": _id}
