"""CSRF and the staff_id rule through the real app: refused writes change nothing (the
conversation's owner row is read back), a session acts as its own member, bearer calls keep
the body's staff_id."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from settings import Settings
from storage.tables import Conversation, Escalation
from tests.conftest import fetch_rows
from tests.console.auth_client import (
    BEARER,
    ORIGIN,
    add_member,
    login,
    run,
    services,
)
from tests.console.auth_fixtures import app_settings, client  # noqa: F401 (fixtures)


def _queued_conversation(client: TestClient) -> str:
    async def work() -> str:
        async with services(client).sessions.begin() as session:
            conversation = Conversation(channel="web", owner="queued")
            session.add(conversation)
            await session.flush()
            session.add(
                Escalation(conversation_id=conversation.id, reason="customer_request")
            )
            return conversation.id

    return run(client, work)


def _owner(settings: Settings, conversation_id: str) -> tuple[str, str | None]:
    rows = fetch_rows(
        settings,
        select(Conversation.owner, Conversation.owner_staff_id).where(
            Conversation.id == conversation_id
        ),
    )
    return rows[0]


# --- CSRF and the staff_id rule ---------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"csrf": False},
        {"token": "0" * 64},
        {"token": "other-session"},
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": None, "fetch_site": "cross-site"},
    ],
    ids=[
        "missing", "wrong", "another-sessions-token", "cross-site-origin", "null-origin",
        "cross-site-fetch-metadata",
    ],
)
def test_csrf_refusals_change_nothing(
    client: TestClient, app_settings: Settings, headers: dict[str, Any]
) -> None:
    add_member(client, "a@example.com")
    add_member(client, "b@example.com")
    signed = login(client, "a@example.com")
    other = login(client, "b@example.com")
    conversation_id = _queued_conversation(client)
    sent = signed.headers(csrf=headers.get("csrf", True), origin=headers.get("origin", ORIGIN))
    if "fetch_site" in headers:
        sent["Sec-Fetch-Site"] = headers["fetch_site"]
    if "token" in headers:
        token = headers["token"]
        sent["X-CSRF-Token"] = other.csrf if token == "other-session" else token
    response = client.post(
        f"/api/staff/conversations/{conversation_id}/claim", json={}, headers=sent
    )
    assert response.status_code == 403
    assert _owner(app_settings, conversation_id) == ("queued", None)


def test_a_session_call_with_its_token_acts_as_its_staff_member(
    client: TestClient, app_settings: Settings
) -> None:
    member = add_member(client, "a@example.com")
    signed = login(client, "a@example.com")
    conversation_id = _queued_conversation(client)
    url = f"/api/staff/conversations/{conversation_id}/claim"

    refused = client.post(url, json={"staff_id": "someone-else"}, headers=signed.headers())
    assert refused.status_code == 422
    assert _owner(app_settings, conversation_id) == ("queued", None)

    claimed = client.post(url, json={}, headers=signed.headers())
    assert claimed.status_code == 200
    assert _owner(app_settings, conversation_id) == ("human", member.id)

    # Sec-Fetch-Site from a browser on the same site, no Origin header: still accepted
    reply = client.post(
        f"/api/staff/conversations/{conversation_id}/reply",
        json={"text": "Hello, this is Ada."},
        headers={**signed.headers(origin=None), "Sec-Fetch-Site": "same-origin"},
    )
    assert reply.status_code == 200


def test_bearer_calls_need_no_csrf_token_and_keep_the_body_staff_id(
    client: TestClient, app_settings: Settings
) -> None:
    conversation_id = _queued_conversation(client)
    response = client.post(
        f"/api/staff/conversations/{conversation_id}/claim",
        json={"staff_id": "alice"},
        headers={**BEARER, "Origin": "https://automation.example"},
    )
    assert response.status_code == 200
    assert _owner(app_settings, conversation_id) == ("human", "alice")
    other = _queued_conversation(client)
    assert client.post(
        f"/api/staff/conversations/{other}/claim", json={}, headers=BEARER
    ).status_code == 200
    assert _owner(app_settings, other) == ("human", "staff")

