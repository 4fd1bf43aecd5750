"""Analytics from outcome events: each figure of docs/metrics.md on rows written with known
times, and the events the product records as things happen."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from console.analytics import percentile
from settings import Settings
from storage.tables import ActionStatus, AuditEntry, Conversation, Message, PendingAction
from storage.tables_widget import OutcomeEvent
from tests.console.auth_client import BEARER, fast_settings, staff_client
from tests.console.work_helpers import chat, escalated_conversation, events_of, write

NOW = datetime.now(UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    with staff_client(fast_settings(settings), embedder, triager) as c:
        yield c


def conv(cid: str, at: datetime, owner: str = "bot") -> Conversation:
    return Conversation(id=cid, channel="web", owner=owner, owner_version=0, created_at=at)


def event(cid: str, what: str, at: datetime, score: int | None = None, **detail: Any) -> Any:
    return OutcomeEvent(conversation_id=cid, kind=what, score=score, detail=detail,
                        channel="web", created_at=at, staff_id=detail.pop("staff_id", None))


def customer_message(cid: str, seq: int, at: datetime) -> Message:
    return Message(conversation_id=cid, seq=seq, role="customer", text="hi", created_at=at)


def unanswered(question: str, at: datetime) -> AuditEntry:
    return AuditEntry(conversation_id=None, actor="bot", tool="search_help_center", kind="read",
                      args={"query": question}, ok=True, result='{"answerable": false}',
                      created_at=at)


def approval(key: str, status: str, at: datetime) -> PendingAction:
    return PendingAction(conversation_id="cf", customer_id="c1", kind="return",
                         order_number="#1001", args={}, summary="s", needs_approval=True,
                         idempotency_key=key, live_key=None, status=status, created_at=at,
                         expires_at=at + H)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([400, 100, 1000, 300, 200], 0.5) == 300
    assert percentile([400, 100, 1000, 300, 200], 0.95) == 1000
    assert percentile([7], 0.95) == 7


def test_every_figure_on_known_rows(client: TestClient) -> None:
    write(
        client,
        conv("cf", NOW - 2 * D), conv("cc", NOW - D), conv("cs", NOW - D),
        conv("ca", NOW - 2 * D), conv("cr", NOW - 2 * D), conv("cn", NOW),
        conv("ce", NOW - 2 * D, owner="queued"),
        conv("old1", NOW - 11 * D, owner="resolved"), conv("old2", NOW - 10 * D),
        conv("ancient", NOW - 40 * D),
    )
    write(
        client,
        # confirmed: the customer said it helped (cf), a 5-star bot rating (cc)
        event("cf", "turn", NOW - 2 * D, 100, intent="order_status"),
        event("cf", "resolution", NOW - 2 * D + H, by="customer", how="said_it_helped"),
        event("cc", "csat", NOW - D, 5, resolution=1),
        # a staff-answered conversation rated 2: staff CSAT
        event("cs", "first_response", NOW - D, staff_id="sam", escalation_id="e1"),
        event("cs", "csat", NOW - D + H, 2, resolution=1),
        # assumed: no reply 24 h after the last answer (ca); replied (cr); too recent (cn);
        # the answer was a handoff (ce)
        event("ca", "turn", NOW - 30 * H, 200, intent="help_center"),
        event("cr", "turn", NOW - 30 * H, 300, intent="help_center"),
        event("cn", "turn", NOW - H, 400, intent="help_center"),
        event("ce", "turn", NOW - 30 * H, 1000, intent="order_status", escalated=True),
        # durable: resolved 10 days ago and quiet (old1); reopened the day after (old2)
        event("old1", "resolution", NOW - 10 * D, by="staff", how="resolve", staff_id="sam"),
        event("old2", "resolution", NOW - 9 * D, by="staff", how="resolve", staff_id="sam"),
        event("old2", "reopen", NOW - 8 * D),
        event("ce", "escalation", NOW - 30 * H, reason="customer_request"),
        event("cs", "escalation", NOW - 2 * D, reason="customer_request"),
        event("cr", "escalation", NOW - 2 * D, reason="complaint"),
        event("cf", "approval", NOW - D, outcome="approved", action_id="a1", kind="return"),
        event("cf", "approval", NOW - D, outcome="rejected", action_id="a2", kind="return"),
        event("cf", "approval", NOW - D, outcome="rejected", action_id="a3", kind="return"),
        # outside the window: counted nowhere
        event("ancient", "escalation", NOW - 40 * D, reason="legal_or_safety"),
        event("ancient", "turn", NOW - 40 * D, 99_999, intent="ancient"),
    )
    write(
        client,
        customer_message("cr", 1, NOW - 29 * H),
        approval("k1", ActionStatus.EXPIRED, NOW - 3 * D),
        approval("k2", ActionStatus.AWAITING_APPROVAL, NOW - 4 * D),  # undecided for 4 days
        approval("k3", ActionStatus.AWAITING_APPROVAL, NOW - H),  # still fresh
        unanswered("Do you ship to Mars?", NOW - 2 * H),
        unanswered("do you ship to  mars", NOW - H),
        unanswered("gift wrapping", NOW - 3 * H),
    )
    response = client.get("/api/staff/analytics", params={"days": 30}, headers=BEARER)
    assert response.status_code == 200, response.text
    got = response.json()
    days = {d["day"]: d["conversations"] for d in got["conversations_per_day"]}
    assert len(days) == 30 and (NOW - 40 * D).date().isoformat() not in days
    assert days[NOW.date().isoformat()] == 1
    assert days[(NOW - D).date().isoformat()] == 2
    assert days[(NOW - 2 * D).date().isoformat()] == 4
    assert got["resolutions"] == {
        "confirmed": 2, "assumed": 1, "staff": 2, "durable": 1, "durable_eligible": 2,
    }
    assert got["escalations_by_reason"] == {"customer_request": 2, "complaint": 1}
    assert got["approvals"] == {"approved": 1, "rejected": 2, "expired": 2}
    assert got["csat_bot"]["count"] == 1 and got["csat_bot"]["average"] == 5
    assert got["csat_staff"]["count"] == 1 and got["csat_staff"]["average"] == 2
    assert got["csat_staff"]["distribution"]["2"] == 1
    assert got["reply_latency"] == {"turns": 5, "p50_ms": 300, "p95_ms": 1000}
    assert got["top_intents"] == [
        {"intent": "help_center", "turns": 3}, {"intent": "order_status", "turns": 2},
    ]
    assert [(q["question"], q["count"]) for q in got["top_unanswered"]] == [
        ("do you ship to  mars", 2), ("gift wrapping", 1),
    ]
    narrow = client.get("/api/staff/analytics", params={"days": 1}, headers=BEARER).json()
    assert narrow["reply_latency"]["turns"] <= 2  # today only
    assert client.get("/api/staff/analytics", params={"days": 0},
                      headers=BEARER).status_code == 400


def test_the_product_records_events_as_they_happen(client: TestClient) -> None:
    first = chat(client, "where is my order #1001? ada@example.com")
    cid = first["conversation_id"]
    (turn,) = events_of(client, "turn", cid)
    assert turn.score is not None and turn.score >= 0
    assert turn.detail["intent"] == "order_status" and turn.detail["escalated"] is False
    chat(client, "thanks, that solved it", cid)
    (helped,) = events_of(client, "resolution", cid)
    assert helped.detail == {"by": "customer", "how": "said_it_helped"}

    handed = escalated_conversation(client, verified=False)
    (escalation,) = events_of(client, "escalation", handed)
    assert escalation.detail["reason"] == "customer_request"
    turns = events_of(client, "turn", handed)
    assert turns[-1].detail["escalated"] is True
    client.post(f"/api/staff/conversations/{handed}/resolve", headers=BEARER,
                json={"staff_id": "sam"})
    (resolved,) = events_of(client, "resolution", handed)
    assert resolved.detail == {"by": "staff", "how": "resolve"} and resolved.staff_id == "sam"
    chat(client, "one more thing", handed)
    assert len(events_of(client, "reopen", handed)) == 1
    summary = client.get("/api/staff/analytics", params={"days": 7}, headers=BEARER).json()
    assert summary["escalations_by_reason"] == {"customer_request": 1}
    assert summary["resolutions"]["confirmed"] == 1 and summary["resolutions"]["staff"] == 1
    assert summary["reply_latency"]["turns"] == len(events_of(client, "turn"))
