"""The app over the tiny store for the widget frame tests (identify, csat, attachments)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from server import create_app
from services import build_services
from settings import Settings
from tests.fakes import CannedKnowledge, MemoryStore

STAFF = {"Authorization": "Bearer dev-staff-token"}


@contextmanager
def widget_client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
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


def turn(ws: Any) -> list[dict[str, Any]]:
    """Frames up to and including the one that ends the turn."""
    frames = []
    while True:
        frame = ws.receive_json()
        frames.append(frame)
        if frame["type"] in ("message", "error"):
            return frames


def say(ws: Any, text: str, **extra: Any) -> list[dict[str, Any]]:
    ws.send_json({"type": "message", "text": text, **extra})
    return turn(ws)


def next_frame(ws: Any) -> dict[str, Any]:
    """The next frame, after a ping: a frame the server did not send shows as the pong."""
    ws.send_json({"type": "ping"})
    return ws.receive_json()  # type: ignore[no-any-return]
