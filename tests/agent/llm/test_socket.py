"""The model path through the customer's WebSocket: the frames of a turn with a tool call and
a streamed reply, in order, and a provider failure that the customer never sees."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server import create_app
from services import build_services
from settings import Settings
from tests.agent.llm.fake_server import ScriptedOpenAI
from tests.agent.llm.test_tool_loop import VERIFY
from tests.fakes import NOW, MemoryStore


@pytest.fixture
def client(llm_settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    async def build() -> Any:
        return await build_services(
            llm_settings,
            embedder=embedder,
            triager=triager,
            store=MemoryStore(),
            clock=lambda: NOW,
        )

    with TestClient(create_app(llm_settings, build=build)) as test_client:
        yield test_client


def exchange(client: TestClient, text: str) -> list[dict[str, Any]]:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "text": text})
        frames = [ws.receive_json()]
        while frames[-1]["type"] != "message":
            frames.append(ws.receive_json())
    return frames


def test_frames_of_a_tool_turn_arrive_in_order(
    client: TestClient, fake_openai: ScriptedOpenAI
) -> None:
    reply = "Thanks Ada, you're verified. Your order #1002 was delivered five days ago."
    fake_openai.script = [{"tool_calls": [VERIFY]}, {"text": reply}]
    frames = exchange(client, "#1002, ada@example.com")
    fake_openai.assert_complete()
    kinds = [f["type"] for f in frames]
    tools = [(f["tool"], f["status"]) for f in frames if f["type"] == "tool_status"]
    assert tools == [("verify_customer", "started"), ("verify_customer", "finished")]
    ack = kinds.index("ack")
    started = kinds.index("tool_status")
    finished = kinds.index("tool_status", started + 1)
    first_token = kinds.index("token")
    assert ack < started < finished < first_token < len(kinds) - 1
    assert "".join(f["text"] for f in frames if f["type"] == "token") == reply
    assert frames[-1]["text"] == reply


def test_a_provider_error_reaches_the_customer_as_an_answer(
    client: TestClient, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [{"status": 500}]
    frames = exchange(client, "How long does shipping take?")
    assert "error" not in [f["type"] for f in frames]
    assert frames[-1]["text"] and "something went wrong" not in frames[-1]["text"]
