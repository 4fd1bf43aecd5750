"""The staff queue: first-response SLA in business hours, filters and search, assign, and the
first staff reply stopping the clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from console.queue import sla_for
from helpdesk.hours import add_business_minutes, business_minutes_between
from settings import Settings
from storage.tables import AuditEntry, Escalation
from tests.console.auth_client import (
    BEARER,
    add_member,
    fast_settings,
    login,
    sql,
    staff_client,
)
from tests.console.work_helpers import chat, escalated_conversation, events_of, rows

NY = ZoneInfo("America/New_York")
SPEC = "mon-fri 09:00-18:00"


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def test_business_minutes_skip_nights_and_weekends() -> None:
    friday_late = ny(2026, 11, 27, 17, 50)  # a Friday
    due = add_business_minutes(friday_late, 15, spec=SPEC, timezone="America/New_York")
    assert due == ny(2026, 11, 30, 9, 5).astimezone(UTC)  # Monday morning
    assert business_minutes_between(
        friday_late, ny(2026, 11, 30, 9, 5), spec=SPEC, timezone="America/New_York"
    ) == pytest.approx(15)
    saturday = ny(2026, 11, 28, 12, 0)  # opened when nobody is in: the clock starts Monday 9:00
    assert add_business_minutes(
        saturday, 60, spec=SPEC, timezone="America/New_York"
    ) == ny(2026, 11, 30, 10, 0).astimezone(UTC)
    # a whole business day is 540 minutes; 1,440 of them run to the fourth day after
    monday = ny(2026, 11, 30, 9, 0)
    assert add_business_minutes(
        monday, 1440, spec=SPEC, timezone="America/New_York"
    ) == ny(2026, 12, 2, 15, 0).astimezone(UTC)


def test_sla_states_by_priority_and_settings_override(settings: Settings) -> None:
    opened = ny(2026, 11, 30, 9, 0)
    at = lambda minutes: opened + timedelta(minutes=minutes)  # noqa: E731
    assert sla_for(opened, "urgent", settings=settings, now=at(10)).state == "ok"
    assert sla_for(opened, "urgent", settings=settings, now=at(12)).state == "warning"
    late = sla_for(opened, "urgent", settings=settings, now=at(16))
    assert late.state == "breached" and late.target_minutes == 15
    assert sla_for(opened, "normal", settings=settings, now=at(16)).state == "ok"
    # answered at 9:05: the clock stopped there, however late it is now
    answered = sla_for(opened, "urgent", settings=settings, now=at(600), responded_at=at(5))
    assert answered.state == "ok" and answered.business_minutes_elapsed == 5
    assert answered.responded_at == at(5).astimezone(UTC)
    custom = settings.model_copy(update={"sla_first_response_minutes": {"urgent": 5}})
    assert sla_for(opened, "urgent", settings=custom, now=at(6)).state == "breached"
    assert sla_for(opened, "low", settings=custom, now=at(6)).target_minutes == 1440


def test_the_sla_override_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("SUPPORT_SLA_FIRST_RESPONSE_MINUTES", '{"urgent": 5, "low": 2880}')
    custom = Settings(env="test", data_dir=tmp_path)
    opened = ny(2026, 11, 30, 9, 0)
    assert sla_for(opened, "urgent", settings=custom, now=opened).target_minutes == 5
    assert sla_for(opened, "low", settings=custom, now=opened).target_minutes == 2880
    assert sla_for(opened, "high", settings=custom, now=opened).target_minutes == 60  # default


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    with staff_client(fast_settings(settings), embedder, triager) as c:
        yield c


def queue(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/staff/queue", headers=BEARER, params=params)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_queue_items_filters_and_search(client: TestClient) -> None:
    ada = escalated_conversation(client)
    other = escalated_conversation(client, verified=False)
    items = {i["conversation_id"]: i for i in queue(client)}
    assert set(items) == {ada, other}
    item = items[ada]
    assert item["channel"] == "api" and item["owner"] == "queued"
    assert item["category"] == "human_request" and item["reason"] == "customer_request"
    assert item["sla"]["state"] in ("ok", "warning", "breached")
    assert item["sla"]["target_minutes"] == {"urgent": 15, "high": 60, "normal": 240,
                                             "low": 1440}[item["priority"]]
    assert item["waiting_minutes"] >= 0 and item["sla"]["responded_at"] is None

    assert [i["conversation_id"] for i in queue(client, q="ada@example.com")] == [ada]
    assert [i["conversation_id"] for i in queue(client, q="ada byron")] == [ada]
    assert [i["conversation_id"] for i in queue(client, q="#1001")] == [ada]
    assert [i["conversation_id"] for i in queue(client, q="1001")] == [ada]
    assert [i["conversation_id"] for i in queue(client, q="where is my order")] == [ada]
    assert queue(client, q="nobody-like-this@example.org") == []
    assert {i["conversation_id"] for i in queue(client, owner="unassigned")} == {ada, other}
    assert queue(client, channel="email") == []
    assert len(queue(client, channel="api")) == 2
    assert queue(client, category="complaint") == []
    assert queue(client, status="claimed") == []


def test_sla_breach_shows_on_an_old_escalation(client: TestClient) -> None:
    cid = escalated_conversation(client)
    long_ago = datetime.now(UTC) - timedelta(days=10)
    sql(client, update(Escalation).where(Escalation.conversation_id == cid)
        .values(created_at=long_ago))
    (item,) = queue(client)
    assert item["sla"]["state"] == "breached"
    assert item["waiting_minutes"] > 10 * 24 * 60 - 1


def test_assign_then_first_reply_stops_the_clock(client: TestClient) -> None:
    cid = escalated_conversation(client)
    (before,) = queue(client)
    assigned = client.post(
        f"/api/staff/conversations/{cid}/assign", headers=BEARER, json={"staff_id": "sam"}
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json() == {
        "conversation_id": cid, "owner": "human", "owner_staff_id": "sam",
        "version": before["owner_version"] + 1,
    }
    stale = client.post(
        f"/api/staff/conversations/{cid}/assign",
        headers=BEARER,
        json={"staff_id": "kim", "expected_version": before["owner_version"]},
    )
    assert stale.status_code == 409
    (item,) = queue(client, owner="sam")
    assert item["status"] == "claimed" and item["owner_staff_id"] == "sam"
    assert queue(client, owner="unassigned") == []
    assert queue(client, status="claimed")[0]["conversation_id"] == cid

    assert events_of(client, "first_response", cid) == []
    sent = client.post(f"/api/staff/conversations/{cid}/reply", headers=BEARER,
                       json={"staff_id": "sam", "text": "Hi Ada, Sam here."})
    assert sent.status_code == 200, sent.text
    client.post(f"/api/staff/conversations/{cid}/reply", headers=BEARER,
                json={"staff_id": "sam", "text": "Still checking."})
    (first,) = events_of(client, "first_response", cid)  # once, not per message
    assert first.staff_id == "sam" and first.detail["escalation_id"] == item["id"]
    (after,) = queue(client)
    assert after["sla"]["responded_at"] is not None
    assert after["sla"]["business_minutes_elapsed"] < 1 and after["sla"]["state"] == "ok"
    audit = rows(client, select(AuditEntry.actor, AuditEntry.args).where(
        AuditEntry.tool == "assign"))
    assert audit == [("staff:staff", {"to": "sam"})]


def test_a_session_assigns_to_real_accounts_and_filters_owner_me(client: TestClient) -> None:
    member = add_member(client, "sam@store.example")
    signed = login(client, "sam@store.example")
    cid = escalated_conversation(client)
    ghost = client.post(f"/api/staff/conversations/{cid}/assign", headers=signed.headers(),
                        json={"staff_id": "no-such-member"})
    assert ghost.status_code == 404
    mine = client.post(f"/api/staff/conversations/{cid}/assign", headers=signed.headers(),
                       json={"staff_id": member.id})
    assert mine.status_code == 200, mine.text
    got = client.get("/api/staff/queue", params={"owner": "me"}, headers=signed.headers())
    assert [i["conversation_id"] for i in got.json()] == [cid]
    chat(client, "hello? is anyone there")  # another customer, not escalated
    assert len(queue(client)) == 1
