"""CSAT: asked for when staff resolve or hand back, stored as an `outcome_events` row (one per
resolution), refused with `bad_frame` when the score is not 1-5. And the Yes / No quick
replies on a reply that asks to confirm an action."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from settings import Settings
from storage.tables_widget import OutcomeEvent
from tests.channels.widget_client import STAFF, next_frame, say, widget_client
from tests.conftest import count_rows, fetch_rows


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    with widget_client(settings, embedder, triager) as test_client:
        yield test_client


CSAT_ROWS = select(func.count()).select_from(OutcomeEvent).where(OutcomeEvent.kind == "csat")


def ratings(settings: Settings) -> list[tuple[Any, ...]]:
    return fetch_rows(
        settings,
        select(
            OutcomeEvent.conversation_id,
            OutcomeEvent.kind,
            OutcomeEvent.score,
            OutcomeEvent.detail,
            OutcomeEvent.channel,
        )
        .where(OutcomeEvent.kind == "csat")  # the table also holds turns, escalations, ...
        .order_by(OutcomeEvent.created_at),
    )


def staff(client: TestClient, conversation_id: str, action: str) -> None:
    response = client.post(
        f"/api/staff/conversations/{conversation_id}/{action}",
        json={"staff_id": "ana"},
        headers=STAFF,
    )
    assert response.status_code == 200, response.text


def test_resolve_asks_for_a_rating_and_a_second_rating_replaces_the_first(
    client: TestClient, settings: Settings
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        conversation_id = say(ws, "hello")[0]["conversation_id"]
        staff(client, conversation_id, "resolve")
        assert ws.receive_json() == {"type": "csat_request", "conversation_id": conversation_id}
        ws.send_json({"type": "csat", "score": 4, "comment": " quick and clear "})
        assert ws.receive_json() == {"type": "csat_saved"}
        assert ratings(settings) == [
            (conversation_id, "csat", 4, {"comment": "quick and clear", "resolution": 1}, "web")
        ]
        ws.send_json({"type": "csat", "score": 2})
        assert ws.receive_json() == {"type": "csat_saved"}
        assert ratings(settings) == [
            (conversation_id, "csat", 2, {"comment": None, "resolution": 1}, "web")
        ]
        # the customer writes again (reopened), staff resolve again: a new rating, a new row
        say(ws, "one more thing")
        staff(client, conversation_id, "resolve")
        assert ws.receive_json()["type"] == "csat_request"
        ws.send_json({"type": "csat", "score": 5})
        assert ws.receive_json() == {"type": "csat_saved"}
    assert [(r[2], r[3]["resolution"]) for r in ratings(settings)] == [(2, 1), (5, 3)]


def test_hand_back_asks_for_a_rating(client: TestClient) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        conversation_id = say(ws, "hello")[0]["conversation_id"]
        staff(client, conversation_id, "claim")
        staff(client, conversation_id, "handback")
        frames = [ws.receive_json(), ws.receive_json()]
    assert frames[0]["type"] == "message" and frames[0]["role"] == "system"
    assert frames[1] == {"type": "csat_request", "conversation_id": conversation_id}


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "csat", "score": 0},
        {"type": "csat", "score": 6},
        {"type": "csat", "score": "five"},
        {"type": "csat", "score": 4.5},
        {"type": "csat"},
        {"type": "csat", "score": 3, "comment": "x" * 1001},
    ],
)
def test_a_bad_rating_is_refused_and_nothing_is_stored(
    client: TestClient, settings: Settings, frame: dict[str, Any]
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        say(ws, "hello")
        ws.send_json(frame)
        error = ws.receive_json()
        assert (error["type"], error["code"]) == ("error", "bad_frame")
        assert next_frame(ws) == {"type": "pong"}  # the socket stays usable
    assert count_rows(settings, CSAT_ROWS) == 0


def test_a_rating_before_any_conversation_is_refused(
    client: TestClient, settings: Settings
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "csat", "score": 5})
        error = ws.receive_json()
    assert (error["type"], error["code"]) == ("error", "no_conversation")
    assert count_rows(settings, CSAT_ROWS) == 0


def test_yes_no_quick_replies_only_while_an_action_awaits_the_customers_yes(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        replies = [
            say(ws, text, client_id=f"m{i}")[-1]
            for i, text in enumerate(
                [
                    "I want to return something from order #1002",
                    "ada@example.com",
                    "they are too small",
                    "exchange please",
                    "size 43",
                ]
            )
        ]
        assert "Shall I go ahead?" in replies[-1]["text"]
        assert replies[-1]["quick_replies"] == ["Yes", "No"]
        assert all(r["quick_replies"] == [] for r in replies[:-1])
        done = say(ws, "yes", client_id="m9")[-1]
    assert "RMA" in done["text"] or "return" in done["text"].lower()
    assert done["quick_replies"] == []
