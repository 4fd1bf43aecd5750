"""Request bodies cannot exhaust the server's memory: a 200 MB body streamed at a real server
(uvicorn in a subprocess) gets 413 long before it is read, and the server's peak RSS barely
moves; lying Content-Length headers are caught; bodies just under a route's limit still work.
The ASGI middleware is also driven directly, with a server that does not police framing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from settings import Settings
from tests.security.served import STAFF_TOKEN, Served, post_streamed, serve
from web.limits import BodyLimit

MB = 1024 * 1024
ATTACK = 200 * MB
# a buffered 200 MB body costs the process at least 200 MB; the guard keeps it to a few chunks
RSS_BOUND_KB = 50 * 1024
UPLOAD_LIMIT = 2_000_000
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(
        tmp_path_factory.mktemp("limits"), SUPPORT_MAX_UPLOAD_BYTES=str(UPLOAD_LIMIT)
    ) as server:
        yield server


def attack_peak_kb(served: Served, path: str, **kwargs: Any) -> tuple[int, Any]:
    """Streams ATTACK bytes at `path`; returns (peak RSS growth in kB, the exchange)."""
    httpx.get(served.base_url + "/healthz")  # settle the connection machinery first
    before = served.status("VmRSS")
    served.reset_peak()
    exchange = post_streamed(served, path, total=ATTACK, **kwargs)
    return served.status("VmHWM") - before, exchange


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("path", ["/api/chat", "/webhooks/zendesk", "/api/staff/actions/x/reject"])
def test_streamed_200mb_body_is_refused_without_reading_it(served: Served, path: str) -> None:
    growth_kb, exchange = attack_peak_kb(served, path, headers=JSON)
    assert growth_kb < RSS_BOUND_KB, f"peak RSS grew by {growth_kb} kB"
    assert exchange.sent < ATTACK // 4, "the server kept reading the body"
    assert exchange.status == 413, exchange.head
    error = json.loads(exchange.body)["error"]
    assert error["code"] == "too_large" and "too large" in error["message"]


@pytest.mark.parametrize("path", ["/api/chat", "/webhooks/zendesk", "/api/staff/kb/documents"])
def test_declared_oversize_body_is_refused_before_any_of_it_is_sent(
    served: Served, path: str
) -> None:
    exchange = post_streamed(served, path, total=0, declared=ATTACK, headers=JSON)
    assert exchange.status == 413, exchange.head
    assert exchange.sent == 0


def test_content_length_that_lies_small_does_not_smuggle_a_large_body(served: Served) -> None:
    """Declared 1 kB, sent 200 MB: the server takes 1 kB as the body and parses the rest as
    the next request, which is garbage: 400 and the connection dropped (or the 401 of the
    unsigned 1 kB webhook, whichever the server writes first)."""
    growth_kb, exchange = attack_peak_kb(served, "/webhooks/zendesk", declared=1024,
                                         headers=JSON)
    assert exchange.status in (400, 401), exchange.head
    assert exchange.sent < ATTACK // 4
    assert growth_kb < RSS_BOUND_KB, f"peak RSS grew by {growth_kb} kB"
    assert httpx.get(served.base_url + "/healthz").status_code == 200


def padded_json(payload: dict[str, Any], size: int) -> bytes:
    raw = json.dumps(payload).encode()
    return raw + b" " * (size - len(raw))


def test_chat_body_just_under_its_limit_gets_a_reply(served: Served) -> None:
    limit = Settings().max_chat_body_bytes
    ok = httpx.post(
        served.base_url + "/api/chat",
        content=padded_json({"text": "hello"}, limit),
        headers=JSON,
        timeout=60,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["reply"]
    over = httpx.post(
        served.base_url + "/api/chat", content=padded_json({"text": "hi"}, limit + 1),
        headers=JSON,
    )
    assert over.status_code == 413


def test_webhook_body_just_under_its_limit_reaches_the_signature_check(served: Served) -> None:
    limit = Settings().max_webhook_body_bytes
    url = served.base_url + "/webhooks/generic"
    under = httpx.post(url, content=padded_json({"event": "staff.reply"}, limit), headers=JSON)
    assert under.status_code == 401 and under.json() == {"error": "missing_credentials"}
    over = httpx.post(url, content=padded_json({"event": "x"}, limit + 1), headers=JSON)
    assert over.status_code == 413


def test_upload_limit_follows_the_setting(served: Served) -> None:
    url = served.base_url + "/api/staff/kb/documents"
    under = httpx.post(url, params={"name": "big.bin"}, content=b"\0" * UPLOAD_LIMIT,
                       headers=STAFF, timeout=60)
    assert under.status_code == 200, under.text
    assert under.json()["documents_added"] == 0  # refused by type, so it was read whole
    over = httpx.post(url, params={"name": "big.bin"}, content=b"\0" * (UPLOAD_LIMIT + 1),
                      headers=STAFF)
    assert over.status_code == 413


# --- the middleware alone, under an ASGI server that trusts whatever the client sends --------


class Recorder:
    """A tiny ASGI app that reads its whole body and answers with the byte count."""

    def __init__(self) -> None:
        self.calls = 0
        self.read = 0

    async def __call__(self, _scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            self.read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(self.read).encode()})


async def drive(
    path: str, chunks: list[bytes], *, declared: int | None = None, **limits: int
) -> tuple[list[dict[str, Any]], Recorder, int]:
    """Runs BodyLimit over Recorder; returns the messages sent, the app, chunks pulled."""
    settings = Settings(env="test", data_dir=Path("/tmp/unused"), **limits)
    app = Recorder()
    guard = BodyLimit(app, settings=settings)
    headers = [(b"content-length", str(declared).encode())] if declared is not None else []
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        if pulled > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[pulled - 1],
                "more_body": pulled < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await guard(scope, receive, send)
    return sent, app, pulled


def status_of(sent: list[dict[str, Any]]) -> list[int]:
    return [m["status"] for m in sent if m["type"] == "http.response.start"]


async def test_declared_length_over_the_limit_never_reaches_the_app() -> None:
    sent, app, pulled = await drive("/api/chat", [b"x"], declared=5000, max_chat_body_bytes=4000)
    assert status_of(sent) == [413] and app.calls == 0 and pulled == 0


async def test_undeclared_body_is_cut_off_at_the_limit_and_the_app_answer_dropped() -> None:
    chunks = [b"x" * 1000] * 50
    sent, app, pulled = await drive("/webhooks/zendesk", chunks, max_webhook_body_bytes=2500)
    assert status_of(sent) == [413]  # the app's own 200 was never sent
    assert pulled == 3 and app.read == 2000  # the third chunk crossed the line, never delivered


async def test_body_longer_than_its_declared_length_is_cut_off() -> None:
    chunks = [b"x" * 1000] * 50
    sent, app, pulled = await drive("/api/chat", chunks, declared=100, max_chat_body_bytes=4000)
    assert status_of(sent) == [400] and app.read == 0 and pulled == 1


async def test_body_of_exactly_the_limit_passes() -> None:
    sent, app, _ = await drive("/api/chat", [b"x" * 2000, b"x" * 2000], max_chat_body_bytes=4000)
    assert status_of(sent) == [200] and app.read == 4000


async def test_staff_json_routes_take_a_megabyte_uploads_their_own_limit() -> None:
    sent, _, _ = await drive("/api/staff/actions/x/reject", [b"x" * MB, b"x"])
    assert status_of(sent) == [413]
    sent, app, _ = await drive("/api/staff/kb/documents", [b"x" * MB] * 3)
    assert status_of(sent) == [200] and app.read == 3 * MB


async def test_global_limit_is_a_ceiling_for_every_route() -> None:
    sent, _, _ = await drive("/api/staff/kb/documents", [b"x" * 3000], max_request_bytes=2000,
                             max_upload_bytes=10_000)
    assert status_of(sent) == [413]
    sent, _, _ = await drive("/anything/else", [b"x" * 3000], max_request_bytes=2000)
    assert status_of(sent) == [413]


async def test_malformed_content_length_is_a_400() -> None:
    settings = Settings(env="test", data_dir=Path("/tmp/unused"))
    sent: list[dict[str, Any]] = []
    app = Recorder()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/api/chat", "headers": [(b"content-length", b"-1")]}
    await BodyLimit(app, settings=settings)(scope, None, send)  # type: ignore[arg-type]
    assert status_of(sent) == [400] and app.calls == 0
