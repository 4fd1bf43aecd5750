"""The storefront's signed login (`identify` frame): a good token binds the conversation as a
successful verification does; a bad, expired, tampered or unconfigured one changes nothing and
says nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from channels.identify import MAX_SKEW_S, REFUSED, TOKEN_TTL_S, check_token, sign
from settings import Settings
from storage.tables import Conversation
from tests.channels.widget_client import next_frame, say, widget_client
from tests.conftest import fetch_rows

SECRET = "widget-secret-for-tests"


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"widget_secret": SecretStr(SECRET)})
    with widget_client(configured, embedder, triager) as test_client:
        yield test_client


def verified(settings: Settings) -> list[tuple[str, str | None]]:
    return fetch_rows(settings, select(Conversation.id, Conversation.verified_customer_id))


def test_token_checks() -> None:
    now = 1_800_000_000
    good = sign(SECRET, "c1", now)
    assert check_token(SECRET, good, now=now).customer_id == "c1"
    assert check_token(SECRET, sign(SECRET, "gid://shop/Customer/7.x", now), now=now).customer_id
    cases = {
        "no_secret": (None, good, now),
        "expired": (SECRET, good, now + TOKEN_TTL_S + 1),
        "future": (SECRET, good, now - MAX_SKEW_S - 1),
        "bad_signature": (SECRET, sign("another-secret", "c1", now), now),
        "malformed": (SECRET, "c1.notatime.abc", now),
    }
    for reason, (secret, token, at) in cases.items():
        check = check_token(secret, token, now=at)
        assert (check.customer_id, check.reason) == (None, reason)
    # the customer id changed, the signature kept: refused
    tampered = "c2" + good[2:]
    assert check_token(SECRET, tampered, now=now).reason == "bad_signature"
    # still good at the edges
    assert check_token(SECRET, good, now=now + TOKEN_TTL_S).customer_id == "c1"
    assert check_token(SECRET, sign(SECRET, "c1", now + MAX_SKEW_S), now=now).customer_id == "c1"


def test_a_good_token_before_the_first_message_verifies_the_first_turn(
    client: TestClient, settings: Settings
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "identify", "token": sign(SECRET, "c1", int(time.time()))})
        assert ws.receive_json() == {"type": "identified", "first_name": "Ada"}
        frames = say(ws, "where is my order #1001?", client_id="m1")
        conversation_id = frames[0]["conversation_id"]
        assert frames[0]["type"] == "conversation"
        tools = [f["tool"] for f in frames if f["type"] == "tool_status"]
        assert "verify_customer" not in tools and "get_order" in tools
        assert "1Z999AA10123456784" in frames[-1]["text"]
    assert verified(settings) == [(conversation_id, "c1")]


def test_a_good_token_after_the_first_message_binds_that_conversation(
    client: TestClient, settings: Settings
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        conversation_id = say(ws, "hello")[0]["conversation_id"]
        assert verified(settings) == [(conversation_id, None)]
        ws.send_json({"type": "identify", "token": sign(SECRET, "c2", int(time.time()))})
        assert ws.receive_json() == {"type": "identified", "first_name": "Bob"}
    assert verified(settings) == [(conversation_id, "c2")]


def _last_digit_changed(token: str) -> str:
    """Another last hex digit (a fixed "0" left one token in 16 valid)."""
    return token[:-1] + ("1" if token.endswith("0") else "0")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda now: sign(SECRET, "c1", now - TOKEN_TTL_S - 5), "expired"),
        (lambda now: _last_digit_changed(sign(SECRET, "c1", now)), "bad_signature"),
        (lambda now: "c2" + sign(SECRET, "c1", now)[2:], "bad_signature"),
        (lambda now: sign(SECRET, "c1", now + 3600), "future"),
        (lambda now: sign(SECRET, "nobody", now), "unknown_customer"),
        (lambda _now: "garbage", "malformed"),
    ],
)
def test_a_bad_token_is_ignored_silently(
    client: TestClient, settings: Settings, token: Any, reason: str
) -> None:
    before = REFUSED[reason]
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "identify", "token": token(int(time.time()))})
        assert next_frame(ws) == {"type": "pong"}  # no frame that tells why
        frames = say(ws, "where is my order #1001?")
        assert "email address or postal code" in frames[-1]["text"]  # asked to verify
    assert [row[1] for row in verified(settings)] == [None]
    assert REFUSED[reason] == before + 1


def test_no_secret_configured_ignores_every_token(
    settings: Settings, embedder: Any, triager: Any
) -> None:
    assert settings.widget_secret is None
    before = REFUSED["no_secret"]
    with widget_client(settings, embedder, triager) as client:
        with client.websocket_connect("/ws/chat") as ws:
            ws.send_json({"type": "identify", "token": sign(SECRET, "c1", int(time.time()))})
            assert next_frame(ws) == {"type": "pong"}
            say(ws, "hello")
    assert [row[1] for row in verified(settings)] == [None]
    assert REFUSED["no_secret"] == before + 1


def test_a_conversation_verified_as_someone_else_is_not_rebound(
    client: TestClient, settings: Settings
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        say(ws, "where is my order?")
        frames = say(ws, "#1001 ada@example.com")
        assert "1Z999AA10123456784" in frames[-1]["text"]
        ws.send_json({"type": "identify", "token": sign(SECRET, "c2", int(time.time()))})
        assert next_frame(ws) == {"type": "pong"}
    assert [row[1] for row in verified(settings)] == ["c1"]


def test_a_token_held_by_the_socket_binds_the_resumed_conversation(
    client: TestClient, settings: Settings
) -> None:
    with client.websocket_connect("/ws/chat") as ws:
        conversation_id = say(ws, "hello")[0]["conversation_id"]
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "identify", "token": sign(SECRET, "c1", int(time.time()))})
        assert ws.receive_json()["type"] == "identified"
        ws.send_json({"type": "resume", "conversation_id": conversation_id})
        assert ws.receive_json()["type"] == "conversation"
    assert verified(settings) == [(conversation_id, "c1")]
