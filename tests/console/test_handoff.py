"""Escalation and handoff end to end through the real app: the queue with its record, staff
claim and reply reaching the customer's socket, the bot silent while a human owns it, hand
back, resolve and reopen, the ticket in the outbox, and signed helpdesk webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server import create_app
from services import build_services
from settings import Settings
from tests.fakes import CannedKnowledge, MemoryStore

STAFF = {"Authorization": "Bearer dev-staff-token"}


@pytest.fixture
def app(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    settings = settings.model_copy(
        update={
            "zendesk_webhook_secret": _secret("zd-secret"),
            "helpdesk_webhook_secret": _secret("gen-secret"),
        }
    )

    async def build() -> Any:
        return await build_services(
            settings,
            embedder=embedder,
            triager=triager,
            store=MemoryStore(),
            knowledge=CannedKnowledge(),
        )

    with TestClient(create_app(settings, build=build)) as client:
        yield client


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def turn(ws: Any, text: str) -> list[dict[str, Any]]:
    ws.send_json({"type": "message", "text": text})
    frames = [ws.receive_json()]
    while frames[-1]["type"] not in ("message", "error") and not (
        frames[-1]["type"] == "ack" and frames[0].get("owner") not in (None, "bot")
    ):
        frames.append(ws.receive_json())
    return frames


def test_full_handoff_cycle(app: TestClient) -> None:
    with app.websocket_connect("/ws/chat") as ws:
        turn(ws, "where is my order #1001? ada@example.com")
        frames = turn(ws, "I want to talk to a person")
        assert any(f["type"] == "escalated" for f in frames)
        final = frames[-1]
        assert final["owner"] == "queued" and "support team" in final["text"]
        cid = final["conversation_id"]

        queue = app.get("/api/staff/queue", headers=STAFF).json()
        assert len(queue) == 1
        record = queue[0]
        assert record["conversation_id"] == cid and record["reason"] == "customer_request"
        assert record["category"] == "human_request"
        assert record["details"]["verified_customer"] == "c1"
        assert record["details"]["orders_discussed"] == ["#1001"]
        assert "Customer: verified (c1)" in record["summary"]
        assert record["suggested_reply"].startswith("Hi Ada")

        # while queued the bot is silent: the customer's message is only acknowledged
        ws.send_json({"type": "message", "text": "hello? anyone?", "client_id": "w1"})
        assert ws.receive_json()["type"] == "ack"

        claim = app.post(
            f"/api/staff/conversations/{cid}/claim", headers=STAFF, json={"staff_id": "sam"}
        )
        assert claim.status_code == 200 and claim.json()["owner"] == "human"
        stolen = app.post(
            f"/api/staff/conversations/{cid}/claim",
            headers=STAFF,
            json={"staff_id": "kim", "expected_version": 1},
        )
        assert stolen.status_code == 409
        sent = app.post(
            f"/api/staff/conversations/{cid}/reply",
            headers=STAFF,
            json={"staff_id": "sam", "text": "Hi Ada, Sam here. Let me check."},
        )
        assert sent.status_code == 200
        pushed = ws.receive_json()
        assert pushed == {
            **pushed,
            "type": "message",
            "role": "staff",
            "text": "Hi Ada, Sam here. Let me check.",
            "owner": "human",
        }

        ws.send_json({"type": "message", "text": "thanks Sam", "client_id": "w2"})
        assert ws.receive_json()["type"] == "ack"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # no bot reply slipped in

        back = app.post(
            f"/api/staff/conversations/{cid}/handback", headers=STAFF, json={"staff_id": "sam"}
        )
        assert back.json()["owner"] == "bot"
        notice = ws.receive_json()
        assert notice["role"] == "system" and "virtual assistant" in notice["text"]
        bot = turn(ws, "What is your return policy?")
        assert bot[-1]["role"] == "assistant" and "30 days" in bot[-1]["text"]

        done = app.post(
            f"/api/staff/conversations/{cid}/resolve", headers=STAFF, json={"staff_id": "sam"}
        )
        assert done.json()["owner"] == "resolved"
        reopened = turn(ws, "hi again")
        assert reopened[-1]["owner"] == "bot" and reopened[-1]["role"] == "assistant"

    detail = app.get(f"/api/staff/conversations/{cid}", headers=STAFF).json()
    roles = [m["role"] for m in detail["messages"]]
    assert roles.count("staff") == 1 and "system" in roles
    # the ticket went to the outbox with the escalation and was delivered to the built-in queue
    outbox = app.get("/api/staff/outbox", headers=STAFF).json()
    assert sum(outbox["counts"].values()) == 1 and outbox["dead"] == []


def test_code_triggers_escalate_without_the_model(app: TestClient) -> None:
    for text, reason in [
        ("My jacket's zipper cut my son's hand, it's a safety hazard", "legal_or_safety"),
        ("I'll file a chargeback with my bank if this isn't fixed", "legal_or_safety"),
        ("this is a SCAM, you are THIEVES", "complaint"),
    ]:
        body = app.post("/api/chat", json={"text": text}).json()
        assert body["escalation"] is not None, text
        assert body["escalation"]["reason"] == reason
        assert body["owner"] == "queued"
    queue = app.get("/api/staff/queue", headers=STAFF).json()
    assert queue[0]["priority"] == "urgent"  # the safety case sorts first


def test_two_unanswered_questions_lead_to_a_human(app: TestClient) -> None:
    first = app.post("/api/chat", json={"text": "do you sell submarines"}).json()
    cid = first["conversation_id"]
    second = app.post(
        "/api/chat", json={"text": "do you sell submarine parts then", "conversation_id": cid}
    ).json()
    assert second["escalation"] is None and "couldn't find" in second["reply"]
    third = app.post("/api/chat", json={"text": "what about yachts", "conversation_id": cid})
    assert third.json()["escalation"]["reason"] == "unanswered"
    review = app.get("/api/staff/unanswered", headers=STAFF).json()
    assert [r["query"] for r in review] == ["do you sell submarine parts then",
                                            "do you sell submarines"]


def _zendesk_headers(body: bytes, secret: str, ts: str | None = None) -> dict[str, str]:
    ts = ts or str(int(time.time()))
    sig = base64.b64encode(
        hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest()
    ).decode()
    return {
        "X-Zendesk-Webhook-Signature": sig,
        "X-Zendesk-Webhook-Signature-Timestamp": ts,
        "Content-Type": "application/json",
    }


def _generic_headers(body: bytes, secret: str) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Support-Agent-Timestamp": ts,
        "X-Support-Agent-Signature": f"sha256={sig}",
        "Content-Type": "application/json",
    }


def test_signed_helpdesk_reply_reaches_the_customer(app: TestClient) -> None:
    handed = app.post("/api/chat", json={"text": "I want to talk to a person"}).json()
    cid = handed["conversation_id"]
    body = json.dumps(
        {
            "event": "staff.reply",
            "conversation_id": cid,
            "author": "Lee",
            "body": "Hello from the helpdesk",
            "comment_id": "c-1",
        }
    ).encode()
    forged = app.post(
        "/webhooks/generic", content=body, headers=_generic_headers(body, "wrong-secret")
    )
    assert forged.status_code == 401 and forged.json()["error"] == "bad_signature"
    headers = _generic_headers(body, "gen-secret")
    ok = app.post("/webhooks/generic", content=body, headers=headers)
    assert ok.status_code == 200, ok.text
    replayed = app.post("/webhooks/generic", content=body, headers=headers)
    assert replayed.status_code == 401 and replayed.json()["error"] == "replayed"
    detail = app.get(f"/api/staff/conversations/{cid}", headers=STAFF).json()
    assert detail["owner"] == "human"
    assert [m["text"] for m in detail["messages"] if m["role"] == "staff"] == [
        "Hello from the helpdesk"
    ]
    stale = _zendesk_headers(b"{}", "zd-secret", ts=str(int(time.time()) - 3600))
    assert app.post("/webhooks/zendesk", content=b"{}", headers=stale).status_code == 401
