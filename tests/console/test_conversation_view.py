"""The conversation view: one timeline told apart by kind, the escalation record, the verified
customer with orders and returns (email masked), and the pending actions with their decision.
(A staff reply on an email conversation going out by email: tests/channels/email/
test_outbound.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from settings import Settings
from storage.tables import ActionStatus, PendingAction
from tests.console.auth_client import BEARER, fast_settings, staff_client
from tests.console.work_helpers import chat, escalated_conversation, events_of, write


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    with staff_client(fast_settings(settings), embedder, triager) as c:
        yield c


def view(client: TestClient, cid: str) -> dict[str, Any]:
    response = client.get(f"/api/staff/conversations/{cid}", headers=BEARER)
    assert response.status_code == 200, response.text
    return dict(response.json())


def pending_return(cid: str) -> PendingAction:
    now = datetime.now(UTC)
    return PendingAction(
        conversation_id=cid,
        customer_id="c1",
        kind="return",
        order_number="#1001",
        args={"items": [{"line_item_id": "li1", "quantity": 1}]},
        summary="Return 1 x Trail Boots from order #1001 for a refund.",
        needs_approval=True,
        approval_reason="a fourth return in 90 days",
        idempotency_key="k-view-1",
        live_key="k-view-1",
        status=ActionStatus.AWAITING_APPROVAL,
        expires_at=now + timedelta(hours=1),
        created_at=now,
    )


def test_the_view_tells_every_entry_apart_in_time_order(client: TestClient) -> None:
    cid = escalated_conversation(client)
    action = pending_return(cid)
    write(client, action)
    first = view(client, cid)
    assert first["channel"] == "api" and first["owner"] == "queued"
    assert first["escalation"]["reason"] == "customer_request"
    assert [e["reason"] for e in first["escalations"]] == ["customer_request"]
    customer = first["customer"]
    assert customer["name"] == "Ada Byron" and customer["email"] == "a***@e***.com"
    assert "ada@example.com" not in str(customer)  # (the transcript has what she typed)
    orders = {o["number"]: o for o in customer["orders"]}
    assert "#1001" in orders
    assert orders["#1001"]["items"] and orders["#1001"]["total"]
    assert isinstance(customer["returns"], list)
    (pending,) = first["pending_actions"]
    assert pending["id"] == action.id and pending["status"] == "awaiting_approval"
    assert pending["reject_url"] == f"/api/staff/actions/{action.id}/reject"

    client.post(f"/api/staff/conversations/{cid}/assign", headers=BEARER,
                json={"staff_id": "sam"})
    client.post(f"/api/staff/conversations/{cid}/notes", headers=BEARER,
                json={"staff_id": "sam", "text": "checking the boots"})
    client.post(f"/api/staff/conversations/{cid}/reply", headers=BEARER,
                json={"staff_id": "sam", "text": "Hi Ada, Sam here."})
    rejected = client.post(f"/api/staff/actions/{action.id}/reject", headers=BEARER,
                           json={"staff_id": "sam", "note": "outside the policy"})
    assert rejected.status_code == 200, rejected.text
    client.post(f"/api/staff/conversations/{cid}/resolve", headers=BEARER,
                json={"staff_id": "sam"})

    after = view(client, cid)
    timeline = after["messages"]
    kinds = [m["kind"] for m in timeline]
    assert kinds[:4] == ["customer", "bot", "customer", "event"]  # escalated in that turn
    assert kinds[4:] == ["bot", "event", "note", "staff", "event", "system", "event"]
    texts = [m["text"] for m in timeline]
    assert texts[5] == "Assigned to sam by staff"
    assert texts[6] == "checking the boots" and timeline[6]["staff_id"] == "sam"
    assert texts[8] == "Action return rejected by sam"
    assert "outside the policy" in texts[9]
    assert texts[10] == "Resolved by sam"
    stamps = [m["created_at"] for m in timeline]
    assert stamps == sorted(stamps)
    assert after["pending_actions"] == [] and after["escalation"] is None
    (decision,) = events_of(client, "approval", cid)
    assert decision.detail == {"action_id": action.id, "outcome": "rejected", "kind": "return"}
    assert decision.staff_id == "sam"


def test_an_unverified_conversation_has_no_customer(client: TestClient) -> None:
    cid = chat(client, "hello")["conversation_id"]
    found = view(client, cid)
    assert found["customer"] is None and found["escalation"] is None
    assert [m["kind"] for m in found["messages"]] == ["customer", "bot"]
    assert client.get("/api/staff/conversations/nope", headers=BEARER).status_code == 404
