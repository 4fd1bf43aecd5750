"""Streaming over /ws/chat: token frames coalesced; a server shutdown mid-turn closes sockets
with 1012 (service restart: reconnect) and the turn in flight still commits its reply."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import websockets
from fastapi.testclient import TestClient
from sqlalchemy import select

from server import create_app
from services import build_services
from settings import Settings
from storage.tables import Message
from tests.conftest import fetch_rows, free_port
from tests.fakes import CannedKnowledge, MemoryStore, ScriptedChatModel, says

LONG = " ".join(f"word{i}" for i in range(300))


class SlowModel(ScriptedChatModel):
    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        await asyncio.sleep(1.0)
        async for chunk in super()._astream(*args, **kwargs):
            yield chunk


def test_tokens_are_coalesced_into_few_frames(
    settings: Settings, embedder: Any, triager: Any
) -> None:
    model = ScriptedChatModel(script=[says(LONG)])

    async def build() -> Any:
        return await build_services(
            settings, embedder=embedder, triager=triager, model=model,
            store=MemoryStore(), knowledge=CannedKnowledge(),
        )

    with TestClient(create_app(settings, build=build)) as client:
        with client.websocket_connect("/ws/chat") as ws:
            ws.send_json({"type": "message", "text": "tell me everything", "client_id": "c1"})
            frames = []
            while not frames or frames[-1]["type"] not in ("message", "error"):
                frames.append(ws.receive_json())
    tokens = [f["text"] for f in frames if f["type"] == "token"]
    assert frames[-1]["type"] == "message" and frames[-1]["text"] == LONG
    assert "".join(tokens) == LONG  # nothing lost or reordered
    assert 1 <= len(tokens) < 30  # 300 streamed words, far fewer frames


def test_shutdown_mid_turn_closes_with_1012_and_commits_the_reply(
    settings: Settings, embedder: Any, triager: Any
) -> None:
    import uvicorn

    port = free_port()
    holder: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        services = loop.run_until_complete(
            build_services(
                settings, embedder=embedder, triager=triager,
                model=SlowModel(script=[says("here is your answer")]),
                store=MemoryStore(), knowledge=CannedKnowledge(),
            )
        )
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings, services), host="127.0.0.1", port=port,
                           log_level="warning")
        )
        holder["server"], holder["services"] = server, services
        loop.run_until_complete(server.serve())
        loop.run_until_complete(services.close())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not getattr(holder.get("server"), "started", False):
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)

    async def client() -> tuple[str, int | None]:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/chat") as ws:
            await ws.send(json.dumps({"type": "message", "text": "hello?", "client_id": "k1"}))
            conversation_id = ""
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "ack":
                    conversation_id = frame["conversation_id"]
                    holder["server"].should_exit = True  # SIGTERM, as uvicorn handles it
                    break
            try:
                while True:
                    await ws.recv()
            except websockets.ConnectionClosed as closed:
                return conversation_id, closed.rcvd.code if closed.rcvd else None

    conversation_id, code = asyncio.run(client())
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert code == 1012  # "service restart": the widget reconnects and resumes
    rows = fetch_rows(
        settings,
        select(Message.role, Message.text)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.seq),
    )
    assert rows == [("customer", "hello?"), ("assistant", "here is your answer")]
