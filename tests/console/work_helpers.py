"""Helpers of the console work-feature tests (queue, conversation view, notes, analytics):
customer turns through the real app, and rows read straight from its database."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.console.auth_client import run, services


def chat(client: TestClient, text: str, conversation_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"text": text}
    if conversation_id:
        body["conversation_id"] = conversation_id
    response = client.post("/api/chat", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def escalated_conversation(client: TestClient, *, verified: bool = True) -> str:
    """A conversation of Ada's (#1001) handed to staff; its id."""
    cid = None
    if verified:
        cid = chat(client, "where is my order #1001? ada@example.com")["conversation_id"]
    handed = chat(client, "I want to talk to a person", cid)
    assert handed["escalation"] is not None and handed["owner"] == "queued"
    return str(handed["conversation_id"])


def rows(client: TestClient, statement: Any) -> list[Any]:
    async def work() -> list[Any]:
        async with services(client).sessions() as session:
            return list((await session.execute(statement)).all())

    return run(client, work)


def events_of(client: TestClient, kind: str, conversation_id: str | None = None) -> list[Any]:
    from storage.tables_widget import OutcomeEvent

    query = select(OutcomeEvent).where(OutcomeEvent.kind == kind)
    if conversation_id:
        query = query.where(OutcomeEvent.conversation_id == conversation_id)
    return [r[0] for r in rows(client, query.order_by(OutcomeEvent.created_at))]


def write(client: TestClient, *objects: Any) -> None:
    async def work() -> None:
        async with services(client).sessions.begin() as session:
            session.add_all(list(objects))

    run(client, work)
