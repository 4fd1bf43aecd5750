"""A provider that fails mid-stream after the customer has seen part of its reply: the turn
voids those tokens (a `token_reset` frame) before the fallback's answer, in that order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.events import Token, TokenReset, TurnResult
from server import create_app
from services import build_services
from settings import Settings
from tests.agent.llm.fake_server import ScriptedOpenAI
from tests.fakes import NOW, MemoryStore

PARTIAL = "Good news: your order shipped yesterday and will arrive on Friday with UPS"
CUT = {"cut": 4, "text": PARTIAL}  # the role chunk and three words, then the connection drops


async def test_the_runner_resets_the_tokens_before_the_fallback_answers(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [CUT]
    events = [
        e
        async for e in llm_services.runner.run_turn(
            text="How long does shipping take?", channel="test"
        )
    ]
    fake_openai.assert_complete()
    kinds = [type(e).__name__ for e in events]
    reset = kinds.index("TokenReset")
    assert kinds.count("TokenReset") == 1
    before = "".join(e.text for e in events[:reset] if isinstance(e, Token))
    after = "".join(e.text for e in events[reset:] if isinstance(e, Token))
    assert before and PARTIAL.startswith(before)  # the model's words reached the stream first
    result = events[-1]
    assert isinstance(result, TurnResult) and result.text.strip()
    assert "Good news" not in result.text and "Good news" not in after
    assert llm_services.runner.llm.counts["fallback:connection"] == 1


async def test_no_reset_when_nothing_was_streamed(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [{"status": 500}]
    events = [
        e
        async for e in llm_services.runner.run_turn(
            text="How long does shipping take?", channel="test"
        )
    ]
    assert not any(isinstance(e, TokenReset) for e in events)


@pytest.fixture
def client(llm_settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    async def build() -> Any:
        return await build_services(
            llm_settings, embedder=embedder, triager=triager, store=MemoryStore(), clock=lambda: NOW
        )

    with TestClient(create_app(llm_settings, build=build)) as test_client:
        yield test_client


def test_the_widget_gets_token_reset_between_the_two_replies(
    client: TestClient, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [CUT]
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "text": "How long does shipping take?"})
        frames = [ws.receive_json()]
        while frames[-1]["type"] != "message":
            frames.append(ws.receive_json())
    kinds = [f["type"] for f in frames]
    assert kinds.count("token_reset") == 1
    reset = kinds.index("token_reset")
    assert kinds.index("ack") < kinds.index("token") < reset < len(kinds) - 1
    shown = "".join(f["text"] for f in frames[:reset] if f["type"] == "token")
    assert shown and PARTIAL.startswith(shown)
    redrawn = "".join(f["text"] for f in frames[reset:] if f["type"] == "token")
    assert "Good news" not in redrawn and "Good news" not in frames[-1]["text"]
    assert frames[-1]["text"].strip()
