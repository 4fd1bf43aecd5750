"""Per-IP limits on the customer channel, through the app (FastAPI's TestClient): sockets per
minute and open at once (refused at the handshake with 429), messages per minute on /ws/chat
(`rate_limited` frames) and POST /api/chat (429 with Retry-After) — nothing stored for a refused
message — X-Forwarded-For believed only from a trusted proxy, and the escalation cap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from starlette.testclient import WebSocketDenialResponse

from channels.summary import collect
from server import create_app
from services import build_services
from settings import Settings
from storage.tables import Escalation, Message, Owner
from tests.fakes import CannedKnowledge, MemoryStore
from tools.identity import NOT_VERIFIED

PEER = ("203.0.113.50", 40000)
PROXY = ("10.0.0.2", 40000)
Factory = Callable[..., TestClient]


@pytest.fixture
def app_client(tmp_path: Path, embedder: Any, triager: Any) -> Iterator[Factory]:
    """Makes a TestClient for settings overrides and a peer address (the socket's client)."""
    with ExitStack() as stack:

        def make(peer: tuple[str, int] = PEER, **overrides: Any) -> TestClient:
            settings = Settings(env="test", data_dir=tmp_path / "data", demo=False, **overrides)

            async def build() -> Any:
                return await build_services(
                    settings,
                    embedder=embedder,
                    triager=triager,
                    store=MemoryStore(),
                    knowledge=CannedKnowledge(),
                )

            return stack.enter_context(TestClient(create_app(settings, build=build), client=peer))

        yield make


def stored_messages(client: TestClient) -> int:
    settings = client.app.state.services.settings  # type: ignore[attr-defined]
    engine = create_engine(f"sqlite:///{settings.data_dir / 'support.db'}")
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(Message)).scalar_one()
    engine.dispose()
    return int(count)


def turn(ws: Any, text: str) -> list[dict[str, Any]]:
    ws.send_json({"type": "message", "text": text})
    frames = []
    while True:
        frames.append(ws.receive_json())
        if frames[-1]["type"] in ("message", "error"):
            return frames


def test_messages_over_the_rate_get_rate_limited_frames_and_nothing_is_stored(
    app_client: Factory,
) -> None:
    client = app_client(messages_per_ip_per_min=3)
    with client.websocket_connect("/ws/chat") as ws:
        for _ in range(3):
            assert turn(ws, "hi")[-1]["type"] == "message"
        assert stored_messages(client) == 6
        frames = turn(ws, "hi again")
        assert len(frames) == 1  # no conversation frame, no ack
        error = frames[0]
        assert error["type"] == "error" and error["code"] == "rate_limited"
        assert isinstance(error["retry_after"], int) and 1 <= error["retry_after"] <= 60
        assert stored_messages(client) == 6
        ws.send_json({"type": "ping"})  # the socket stays open
        assert ws.receive_json() == {"type": "pong"}
    # the budget is per IP, shared with POST /api/chat
    refused = client.post("/api/chat", json={"text": "hello?"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["error"]["code"] == "rate_limited"
    assert stored_messages(client) == 6


def test_post_chat_over_the_rate_gets_429_with_retry_after(app_client: Factory) -> None:
    client = app_client(messages_per_ip_per_min=2)
    assert [client.post("/api/chat", json={"text": "hi"}).status_code for _ in range(2)] == [
        200,
        200,
    ]
    refused = client.post("/api/chat", json={"text": "hi"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(refused.json()["error"]["retry_after"])
    assert stored_messages(client) == 4


def test_connections_over_the_rate_are_refused_at_the_handshake(app_client: Factory) -> None:
    client = app_client(ws_connections_per_ip_per_min=2)
    for _ in range(2):
        with client.websocket_connect("/ws/chat") as ws:
            ws.send_json({"type": "ping"})
            assert ws.receive_json()["type"] == "pong"
    with pytest.raises(WebSocketDenialResponse) as refused:
        with client.websocket_connect("/ws/chat"):
            pass
    assert refused.value.status_code == 429
    assert 1 <= int(refused.value.headers["retry-after"]) <= 60


def test_open_sockets_per_ip_are_capped(app_client: Factory) -> None:
    client = app_client(ws_open_per_ip=2, ws_connections_per_ip_per_min=100)
    rates = client.app.state.services.rates  # type: ignore[attr-defined]
    with client.websocket_connect("/ws/chat"), client.websocket_connect("/ws/chat"):
        assert rates.open_sockets(PEER[0]) == 2
        with pytest.raises(WebSocketDenialResponse) as refused:
            with client.websocket_connect("/ws/chat"):
                pass
        assert refused.value.status_code == 429
    assert rates.open_sockets(PEER[0]) == 0  # closed sockets give their slots back
    with client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(app_client: Factory) -> None:
    client = app_client(messages_per_ip_per_min=3, trusted_proxies=["10.0.0.0/8"])
    codes = [
        client.post(
            "/api/chat", json={"text": "hi"}, headers={"X-Forwarded-For": f"198.51.100.{i}"}
        ).status_code
        for i in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]  # rotating the header does not escape the limit


def test_forwarded_for_from_a_trusted_proxy_is_honoured(app_client: Factory) -> None:
    client = app_client(peer=PROXY, messages_per_ip_per_min=2, trusted_proxies=["10.0.0.0/8"])

    def post(forwarded: str) -> int:
        headers = {"X-Forwarded-For": forwarded}
        return client.post("/api/chat", json={"text": "hi"}, headers=headers).status_code

    # four customers behind one proxy: each has their own budget
    assert [post(f"198.51.100.{i}") for i in range(4)] == [200] * 4
    assert post("198.51.100.0") == 200
    assert post("198.51.100.0") == 429
    # a forged left part does not help: the proxy appended the real address on the right
    assert post("6.6.6.6, 198.51.100.0") == 429
    assert post("198.51.100.0, 10.0.0.7") == 429  # another trusted hop is skipped


def test_verification_locks_on_the_real_ip_whatever_the_header_says(app_client: Factory) -> None:
    client = app_client(messages_per_ip_per_min=100)
    for i in range(5):  # five wrong guesses on five orders, each "from" another address
        body = {"text": f"where is my order #{1001 + i % 3}? zip 0000{i}"}
        headers = {"X-Forwarded-For": f"198.51.100.{i}"}
        reply = client.post("/api/chat", json=body, headers=headers).json()
        assert NOT_VERIFIED in reply["reply"]
    right = client.post(
        "/api/chat",
        json={"text": "where is my order #1002? zip 97201"},
        headers={"X-Forwarded-For": "198.51.100.200"},
    ).json()
    assert NOT_VERIFIED in right["reply"]  # the peer is locked out
    assert not any(c["name"] == "verify_customer" and c["ok"] for c in right["tool_calls"])


async def test_escalations_per_client_are_capped(
    make_services: Callable[..., Any], tmp_path: Path
) -> None:
    settings = Settings(
        env="test", data_dir=tmp_path / "data", demo=False, escalations_per_client_per_hour=2
    )
    services = await make_services(settings=settings)
    results = [
        await collect(
            services.runner.run_turn(
                text="I want to talk to a person", channel="web", client_ip="192.0.2.44"
            )
        )
        for _ in range(3)
    ]
    assert [r.owner for r in results] == [Owner.QUEUED, Owner.QUEUED, Owner.BOT]
    assert "already with our support team" in results[2].text
    async with services.sessions() as session:
        rows = (await session.scalars(select(Escalation))).all()
    assert len(rows) == 2  # no new queue entry beyond the cap
    other = await collect(
        services.runner.run_turn(
            text="I want to talk to a person", channel="web", client_ip="192.0.2.45"
        )
    )
    assert other.owner == Owner.QUEUED  # another client is not affected
