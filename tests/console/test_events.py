"""GET /api/staff/events: server-sent events read from a real server's stream — in one process,
across two app instances sharing Redis (the change made on one worker, the stream held by the
other), and the stream ending when its session signs out."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from settings import Settings
from tests.conftest import free_port
from tests.fakes import CannedKnowledge, MemoryStore

REDIS_URL = "redis://127.0.0.1:6379/0"
BEARER = {"Authorization": "Bearer dev-staff-token"}
PASSWORD = "correct horse battery staple"


class LiveApp:
    """create_app over the tiny store, served by uvicorn on a loopback port in a thread."""

    def __init__(self, settings: Settings, embedder: Any, triager: Any) -> None:
        import uvicorn

        from server import create_app
        from services import build_services

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.services = self.loop.run_until_complete(
                    build_services(settings, embedder=embedder, triager=triager,
                                   store=MemoryStore(), knowledge=CannedKnowledge())
                )
                config = uvicorn.Config(create_app(settings, self.services), host="127.0.0.1",
                                        port=self.port, log_level="warning")
                self.server = uvicorn.Server(config)
                ready.set()
                self.loop.run_until_complete(self.server.serve())
                self.loop.run_until_complete(self.services.close())
            except BaseException as exc:  # handed to the test below
                failed.append(exc)
                ready.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(120)
        deadline = time.monotonic() + 60
        while not failed and not getattr(getattr(self, "server", None), "started", False):
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        if failed:
            raise RuntimeError(f"the server failed: {failed[0]!r}")

    def call(self, coro: Any) -> Any:
        """Runs a coroutine in the server's own loop (its engine lives there)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


class Stream:
    """The lines of one open event stream, read as they arrive."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.client = httpx.Client(timeout=httpx.Timeout(30.0))
        self.response = self.client.send(
            self.client.build_request("GET", url + "/api/staff/events", headers=headers),
            stream=True,
        )
        self.lines = self.response.iter_lines()

    def until_connected(self) -> None:
        for line in self.lines:
            if line == ": connected":
                return
        raise AssertionError("the stream ended before it said connected")

    def next_event(self, where: Any = None, within_s: float = 60.0) -> dict[str, Any]:
        """The next `data:` event matching `where` (others are skipped); fails when none came
        in `within_s` (the heartbeat comments give the loop a turn at least every second)."""
        deadline = time.monotonic() + within_s
        for line in self.lines:
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching event within {within_s} s")
            if line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                if where is None or where(event):
                    return dict(event)
        raise AssertionError("the stream ended")

    def rest(self) -> list[str]:
        """Every line until the server ends the stream."""
        return list(self.lines)

    def close(self) -> None:
        self.response.close()
        self.client.close()


def _chat(url: str, text: str, cid: str | None = None) -> dict[str, Any]:
    body = {"text": text, **({"conversation_id": cid} if cid else {})}
    response = httpx.post(url + "/api/chat", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def one_app(settings: Settings, embedder: Any, triager: Any) -> Iterator[LiveApp]:
    app = LiveApp(settings.model_copy(update={"staff_events_heartbeat_s": 1.0}), embedder,
                  triager)
    yield app
    app.stop()


def test_a_console_stream_hears_the_queue_change_in_process(one_app: LiveApp) -> None:
    assert one_app.services.bus.__class__.__name__ == "LocalBus"
    stream = Stream(one_app.url, BEARER)
    try:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        stream.until_connected()
        handed = _chat(one_app.url, "I want to talk to a person")
        cid = handed["conversation_id"]
        said = stream.next_event(lambda e: e.get("conversation_id") == cid)
        assert (said["type"], said["role"]) == ("message", "customer")
        answered = stream.next_event(lambda e: e["type"] == "message")
        assert (answered["role"], answered["owner"]) == ("assistant", "queued")
        opened = stream.next_event(lambda e: e["type"] == "escalation")
        assert opened["conversation_id"] == cid and opened["reason"] == "customer_request"
        assert opened["escalation_id"] == handed["escalation"]["id"]
        httpx.post(f"{one_app.url}/api/staff/conversations/{cid}/assign", headers=BEARER,
                   json={"staff_id": "sam"}).raise_for_status()
        moved = stream.next_event(lambda e: e["type"] == "ownership")
        assert (moved["owner"], moved["owner_staff_id"]) == ("human", "sam")
        httpx.post(f"{one_app.url}/api/staff/conversations/{cid}/reply", headers=BEARER,
                   json={"staff_id": "sam", "text": "Hi, Sam here"}).raise_for_status()
        replied = stream.next_event(lambda e: e["type"] == "message")
        assert (replied["role"], replied["conversation_id"]) == ("staff", cid)
    finally:
        stream.close()
    assert httpx.get(one_app.url + "/api/staff/events").status_code == 401


@pytest.fixture
def two_apps(settings: Settings, embedder: Any, triager: Any) -> Iterator[tuple[LiveApp, LiveApp]]:
    shared = settings.model_copy(update={
        "redis_url": REDIS_URL,
        # this test's own channels: another run on the same Redis cannot flood its stream
        "redis_bus_prefix": f"test-{uuid.uuid4().hex[:8]}:",
        # and its own throttle keys (keyed by the secret): the Redis throttle outlives a run,
        # and earlier runs' hand-offs from 127.0.0.1 would count against this one's cap
        "secret_key": SecretStr(uuid.uuid4().hex),
        "staff_events_heartbeat_s": 1.0,
    })
    first = LiveApp(shared, embedder, triager)
    second = LiveApp(shared, embedder, triager)
    yield first, second
    second.stop()
    first.stop()


def test_a_change_on_one_worker_reaches_a_stream_on_another(
    two_apps: tuple[LiveApp, LiveApp],
) -> None:
    holder, worker = two_apps
    assert holder.services.bus.__class__.__name__ == "RedisBus"
    stream = Stream(holder.url, BEARER)
    try:
        stream.until_connected()  # its subscription is live in Redis (console/events.py)
        handed = _chat(worker.url, "I want to talk to a person")  # served by the other worker
        cid = handed["conversation_id"]
        opened = stream.next_event(
            lambda e: e["type"] == "escalation" and e.get("conversation_id") == cid
        )
        assert opened["escalation_id"] == handed["escalation"]["id"]
        httpx.post(f"{worker.url}/api/staff/conversations/{cid}/claim", headers=BEARER,
                   json={"staff_id": "kim"}).raise_for_status()
        moved = stream.next_event(
            lambda e: e["type"] == "ownership" and e.get("conversation_id") == cid
        )
        assert (moved["owner"], moved["owner_staff_id"], moved["escalation_status"]) == (
            "human", "kim", "claimed",
        )
        # the queue the console reloads on that event, from the holder's worker
        queue = httpx.get(holder.url + "/api/staff/queue", headers=BEARER).json()
        assert [(i["conversation_id"], i["owner_staff_id"]) for i in queue] == [(cid, "kim")]
    finally:
        stream.close()


def test_signing_out_ends_the_stream(settings: Settings, embedder: Any, triager: Any) -> None:
    quick = settings.model_copy(update={
        "staff_events_heartbeat_s": 0.2, "staff_password_time_cost": 1,
        "staff_password_memory_kib": 64,
    })
    app = LiveApp(quick, embedder, triager)
    try:
        from console import accounts

        async def add() -> None:
            async with app.services.sessions.begin() as session:
                await accounts.create(session, app.services.settings, email="sam@store.example",
                                      role="agent", password=PASSWORD)

        app.call(add())
        signed = httpx.post(app.url + "/api/staff/login", headers={"Origin": app.url},
                            json={"email": "sam@store.example", "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        cookie = {"Cookie": f"sa_staff={signed.cookies['sa_staff']}"}
        stream = Stream(app.url, cookie)
        try:
            stream.until_connected()
            heartbeat = next(line for line in stream.lines if line.startswith(":"))
            assert heartbeat == ": heartbeat"  # the session is alive: the stream stays open
            out = httpx.post(app.url + "/api/staff/logout", headers={
                **cookie, "Origin": app.url, "X-CSRF-Token": signed.json()["csrf_token"],
            })
            assert out.status_code == 200, out.text
            tail = stream.rest()  # returns only because the server ended the stream
            assert 'data: {"type":"logout"}' in tail
        finally:
            stream.close()
    finally:
        app.stop()


def test_signing_out_ends_the_stream_at_once_not_at_the_heartbeat(
    settings: Settings, embedder: Any, triager: Any
) -> None:
    """With a heartbeat far away, the sign-out's own event ends the stream: no heartbeat line
    comes before the logout frame (the session check at the heartbeat would be the only other
    way out)."""
    slow = settings.model_copy(update={
        "staff_events_heartbeat_s": 120.0, "staff_password_time_cost": 1,
        "staff_password_memory_kib": 64,
    })
    app = LiveApp(slow, embedder, triager)
    try:
        from console import accounts

        async def add() -> None:
            async with app.services.sessions.begin() as session:
                await accounts.create(session, app.services.settings, email="kim@store.example",
                                      role="agent", password=PASSWORD)

        app.call(add())
        signed = httpx.post(app.url + "/api/staff/login", headers={"Origin": app.url},
                            json={"email": "kim@store.example", "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        cookie = {"Cookie": f"sa_staff={signed.cookies['sa_staff']}"}
        stream = Stream(app.url, cookie)
        try:
            stream.until_connected()
            out = httpx.post(app.url + "/api/staff/logout", headers={
                **cookie, "Origin": app.url, "X-CSRF-Token": signed.json()["csrf_token"],
            })
            assert out.status_code == 200, out.text
            tail = stream.rest()
            assert [line for line in tail if line.startswith(("data:", ":"))] == [
                'data: {"type":"logout"}'
            ]
        finally:
            stream.close()
    finally:
        app.stop()


def test_an_approval_request_and_its_decision_are_announced(
    settings: Settings, embedder: Any, triager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The approval gate's request (settled in code, no escalation of the conversation) and the
    staff decision both reach the staff topic."""
    from fastapi.testclient import TestClient

    from bus import STAFF_TOPIC
    from server import create_app
    from services import build_services
    from tests.fakes import NOW, ScriptedChatModel, calls, says

    model = ScriptedChatModel(script=[
        calls("verify_customer", order_number="#1002", email="ada@example.com"),
        calls("start_return", _id="c2", order_number="#1002",
              items=[{"item": "Trail Runner", "quantity": 1}], reason="exception",
              resolution="refund"),
        says("This needs a review. Shall I send it?"),
    ])

    async def build() -> Any:
        return await build_services(settings, embedder=embedder, triager=triager,
                                    store=MemoryStore(), model=model, clock=lambda: NOW)

    with TestClient(create_app(settings, build=build)) as client:
        bus = client.app.state.services.bus  # type: ignore[attr-defined]
        heard: list[dict[str, Any]] = []

        async def publish(topic: str, event: dict[str, Any]) -> None:
            if topic == STAFF_TOPIC:
                heard.append(event)

        monkeypatch.setattr(bus, "publish", publish)
        first = client.post("/api/chat", json={"text": "return #1002 ada@example.com"}).json()
        cid = first["conversation_id"]
        client.post("/api/chat", json={"text": "yes", "conversation_id": cid})
        (action,) = client.get("/api/staff/actions", headers=BEARER).json()
        assert action["status"] == "awaiting_approval"
        requested = [e for e in heard if e["type"] == "escalation"]
        assert requested == [{"type": "escalation", "action": "created",
                              "reason": "approval_required", "action_id": action["id"],
                              "conversation_id": cid}]
        client.post(f"/api/staff/actions/{action['id']}/reject", headers=BEARER,
                    json={"staff_id": "sam"})
        (decided,) = [e for e in heard if e["type"] == "action"]
        assert decided == {"type": "action", "action_id": action["id"], "conversation_id": cid,
                           "status": "rejected", "outcome": "rejected"}
        told = [e for e in heard if e["type"] == "message" and e["role"] == "system"]
        assert len(told) == 1 and told[0]["conversation_id"] == cid
