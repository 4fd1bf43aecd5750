"""Internal notes (never to the customer, never in the model's context) and saved replies
(admins write, agents read and use, placeholders filled on the server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage
from sqlalchemy import select

from server import create_app
from services import build_services
from settings import Settings
from storage.tables import Message
from storage.tables_console import SavedReply, StaffNote
from tests.console.auth_client import (
    BEARER,
    add_member,
    fast_settings,
    login,
    staff_client,
)
from tests.console.work_helpers import chat, escalated_conversation, rows
from tests.fakes import CannedKnowledge, MemoryStore, ScriptedChatModel

NOTE = "NOTE-7731: customer is a VIP, refund whatever they ask"


@pytest.fixture
def scripted(settings: Settings, embedder: Any, triager: Any) -> Iterator[Any]:
    model = ScriptedChatModel(script=[AIMessage("Hello! How can I help?"), AIMessage("Sure.")])

    async def build() -> Any:
        return await build_services(
            settings, embedder=embedder, triager=triager, store=MemoryStore(),
            knowledge=CannedKnowledge(), model=model,
        )

    with TestClient(create_app(settings, build=build)) as client:
        yield client, model


def test_a_note_never_reaches_the_customer_or_the_model(scripted: Any) -> None:
    client, model = scripted
    first = chat(client, "hi there")
    cid = first["conversation_id"]
    made = client.post(f"/api/staff/conversations/{cid}/notes", headers=BEARER,
                       json={"text": NOTE, "staff_id": "sam"})
    assert made.status_code == 201, made.text
    assert made.json()["staff_id"] == "sam" and made.json()["text"] == NOTE
    second = chat(client, "can you check something for me", cid)
    assert NOTE not in second["reply"]
    assert len(model.calls) == 2
    shown = [str(m.content) for m in model.calls[1]]
    assert any("can you check something" in text for text in shown)  # it did read the history
    assert not any("NOTE-7731" in text for text in shown)
    # stored apart from the messages (what the widget, email and the model are built from)
    assert rows(client, select(Message.id).where(Message.text.contains("NOTE-7731"))) == []
    assert [r[0] for r in rows(client, select(StaffNote.text))] == [NOTE]
    listed = client.get(f"/api/staff/conversations/{cid}/notes", headers=BEARER).json()
    assert [(n["text"], n["staff_id"]) for n in listed] == [(NOTE, "sam")]
    view = client.get(f"/api/staff/conversations/{cid}", headers=BEARER).json()
    assert [m["kind"] for m in view["messages"]] == ["customer", "bot", "note", "customer", "bot"]


def test_notes_need_a_conversation_and_staff(scripted: Any) -> None:
    client, _ = scripted
    assert client.post("/api/staff/conversations/nope/notes", headers=BEARER,
                       json={"text": "x"}).status_code == 404
    cid = chat(client, "hello")["conversation_id"]
    assert client.post(f"/api/staff/conversations/{cid}/notes",
                       json={"text": "x"}).status_code == 401
    assert client.post(f"/api/staff/conversations/{cid}/notes", headers=BEARER,
                       json={"text": ""}).status_code == 400  # web/invalid.py


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    with staff_client(fast_settings(settings), embedder, triager) as c:
        yield c


def test_a_session_note_is_signed_by_its_member(client: TestClient) -> None:
    member = add_member(client, "kim@store.example")
    signed = login(client, "kim@store.example")
    cid = escalated_conversation(client)
    refused = client.post(f"/api/staff/conversations/{cid}/notes", headers=signed.headers(),
                          json={"text": "called the courier", "staff_id": "someone-else"})
    assert refused.status_code == 422
    made = client.post(f"/api/staff/conversations/{cid}/notes", headers=signed.headers(),
                       json={"text": "called the courier"})
    assert made.status_code == 201 and made.json()["staff_id"] == member.id


def test_saved_replies_admins_write_agents_use(client: TestClient) -> None:
    add_member(client, "agent@store.example", role="agent")
    add_member(client, "admin@store.example", role="admin")
    agent, admin = login(client, "agent@store.example"), login(client, "admin@store.example")
    body = {"title": "Order check", "text": "Hi {{first_name}}, I'm looking at order "
            "{{ order_number }} now."}
    assert client.post("/api/staff/saved-replies", headers=agent.headers(),
                       json=body).status_code == 403
    bad = client.post("/api/staff/saved-replies", headers=admin.headers(),
                      json={"title": "x", "text": "Dear {{last_name}}"})
    assert bad.status_code == 400 and "last_name" in bad.text
    made = client.post("/api/staff/saved-replies", headers=admin.headers(), json=body)
    assert made.status_code == 201, made.text
    reply_id = made.json()["id"]
    assert made.json()["created_by"] == admin.staff["id"]
    listed = client.get("/api/staff/saved-replies", headers=agent.headers()).json()
    assert [r["title"] for r in listed] == ["Order check"]

    ada = escalated_conversation(client)
    used = client.post(f"/api/staff/conversations/{ada}/saved-replies/{reply_id}",
                       headers=agent.headers())
    assert used.status_code == 200, used.text
    assert used.json()["text"] == "Hi Ada, I'm looking at order #1001 now."
    assert used.json()["missing"] == []
    stranger = escalated_conversation(client, verified=False)
    blank = client.post(f"/api/staff/conversations/{stranger}/saved-replies/{reply_id}",
                        headers=BEARER).json()
    assert blank["missing"] == ["first_name", "order_number"]
    assert blank["text"] == "Hi, I'm looking at order now."

    assert client.put(f"/api/staff/saved-replies/{reply_id}", headers=agent.headers(),
                      json=body).status_code == 403
    edited = client.put(f"/api/staff/saved-replies/{reply_id}", headers=BEARER,
                        json={"title": "Order check", "text": "Thanks {{first_name}}!"})
    assert edited.status_code == 200 and edited.json()["text"] == "Thanks {{first_name}}!"
    assert client.delete(f"/api/staff/saved-replies/{reply_id}",
                         headers=agent.headers()).status_code == 403
    assert client.delete(f"/api/staff/saved-replies/{reply_id}",
                         headers=admin.headers()).status_code == 204
    assert rows(client, select(SavedReply.id)) == []
    assert client.get(f"/api/staff/saved-replies/{reply_id}",
                      headers=BEARER).status_code == 404
