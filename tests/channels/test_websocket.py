"""/ws/chat and POST /api/chat through FastAPI's TestClient, over the tiny store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from settings import Settings
from storage.tables import Message
from tests.channels.widget_client import turn, widget_client
from tests.conftest import count_rows


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    with widget_client(settings, embedder, triager) as test_client:
        yield test_client


def message_count(settings: Settings) -> int:
    return int(count_rows(settings, select(func.count()).select_from(Message)))


def test_order_status_conversation_over_the_socket(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "text": "where is my order?", "client_id": "a1"})
        frames = turn(ws)
        types = [f["type"] for f in frames]
        assert types[:2] == ["conversation", "ack"] and types[-1] == "message"
        assert "token" in types
        conversation_id = frames[0]["conversation_id"]
        assert frames[1]["client_id"] == "a1"
        assert "order number" in frames[-1]["text"] and frames[-1]["client_id"] == "a1"
        tokens = "".join(f["text"] for f in frames if f["type"] == "token")
        assert tokens == frames[-1]["text"]

        ws.send_json({"type": "message", "text": "#1001 ada@example.com", "client_id": "a2"})
        frames = turn(ws)
        statuses = [(f["tool"], f["status"]) for f in frames if f["type"] == "tool_status"]
        assert ("verify_customer", "finished") in statuses and ("get_order", "finished") in statuses
        assert "Looking up your order..." in [f["label"] for f in frames if "label" in f]
        final = frames[-1]
        assert final["conversation_id"] == conversation_id
        assert "1Z999AA10123456784" in final["text"]


def test_bad_frames_get_errors_and_the_socket_stays_usable(
    client: TestClient, settings: Settings
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_text("{not json")
        assert ws.receive_json() == {
            "type": "error",
            "code": "bad_json",
            "message": "The frame is not valid JSON.",
        }
        ws.send_text(json.dumps({"type": "launch_missiles"}))
        assert ws.receive_json()["code"] == "unknown_type"
        ws.send_text(json.dumps([1, 2]))
        assert ws.receive_json()["code"] == "invalid_frame"
        ws.send_text(json.dumps({"type": "message"}))
        assert ws.receive_json()["code"] == "invalid_frame"
        ws.send_text(json.dumps({"type": "message", "text": "hi", "extra": 1}))
        assert ws.receive_json()["code"] == "invalid_frame"
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_json()["code"] == "invalid_frame"
        ws.send_text(json.dumps({"type": "message", "text": "x" * 40_000}))
        assert ws.receive_json()["code"] == "frame_too_large"
        ws.send_json({"type": "message", "text": "x" * 4001})
        assert ws.receive_json()["code"] == "message_too_long"
        ws.send_json({"type": "resume", "conversation_id": "nope"})
        assert ws.receive_json()["code"] == "conversation_not_found"
        assert message_count(settings) == 0  # nothing was stored for any of them
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
        ws.send_json({"type": "message", "text": "hi"})
        assert turn(ws)[-1]["type"] == "message"
        assert message_count(settings) == 2


def test_resume_sends_history_and_continues(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "text": "What is your return policy?"})
        frames = turn(ws)
        conversation_id = frames[0]["conversation_id"]
        assert frames[-1]["citations"][0]["title"] == "Returns"
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "resume", "conversation_id": conversation_id})
        history = ws.receive_json()
        assert history["type"] == "conversation" and history["owner"] == "bot"
        assert [m["role"] for m in history["messages"]] == ["customer", "assistant"]
        assert history["messages"][1]["citations"][0]["id"] == "returns#0"
        ws.send_json({"type": "message", "text": "thanks"})
        frames = turn(ws)
        assert frames[0]["type"] == "ack"  # no new conversation frame
        assert frames[-1]["conversation_id"] == conversation_id


def test_human_request_sends_escalated_frame(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "message", "text": "I want to talk to a person"})
        frames = turn(ws)
        escalated = [f for f in frames if f["type"] == "escalated"]
        assert len(escalated) == 1 and escalated[0]["reason"] == "customer_request"
        assert frames[-1]["owner"] == "queued"
        ws.send_json({"type": "message", "text": "hello?", "client_id": "q"})
        ack = ws.receive_json()
        assert ack["type"] == "ack" and ack["client_id"] == "q"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # no bot message came in between


def test_api_chat_returns_the_whole_turn(client: TestClient) -> None:
    response = client.post("/api/chat", json={"text": "What is your return policy?"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "conversation_id",
        "reply",
        "citations",
        "tool_calls",
        "owner",
        "escalation",
    }
    assert body["citations"] == [
        {"id": "returns#0", "title": "Returns", "url": "/help/articles/returns"}
    ]
    assert body["tool_calls"] == [
        {"name": "search_help_center", "args": {"query": "What is your return policy?"}, "ok": True}
    ]
    follow = client.post(
        "/api/chat", json={"text": "I want a human", "conversation_id": body["conversation_id"]}
    )
    assert follow.json()["escalation"]["reason"] == "customer_request"
    assert follow.json()["owner"] == "queued"
    too_long = client.post("/api/chat", json={"text": "x" * 4001})
    assert too_long.status_code == 413
    assert too_long.json()["error"]["code"] == "message_too_long"
    missing = client.post("/api/chat", json={"text": "hi", "conversation_id": "nope"})
    assert missing.status_code == 404


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "checks": {"database": True, "store": True, "knowledge": True, "model": True},
    }
