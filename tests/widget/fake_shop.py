"""A shop page and a scripted chat server inside the browser, for widget tests that need no
real server: Playwright fulfils http://shop.test/ (the storefront or a given page, widget.js,
widget.css) and answers the widget's WebSocket itself, recording every frame the widget sends."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Page, Route, WebSocketRoute

import widget

SHOP = "http://shop.test"
CONVERSATION = "cv_fake"

Frame = dict[str, Any]


@dataclass
class FakeChat:
    """The server end of the widget's socket: frames received, and a reply script."""

    received: list[Frame] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    sockets: list[WebSocketRoute] = field(default_factory=list)
    history: list[Frame] = field(default_factory=list)  # what a resume gets back
    # message frame -> frames to send back; the default acknowledges and answers "OK".
    on_message: Callable[[Frame], list[Frame]] | None = None

    def handle(self, ws: WebSocketRoute) -> None:
        self.urls.append(ws.url)
        self.sockets.append(ws)
        ws.on_message(lambda raw: self._receive(ws, raw))

    def _receive(self, ws: WebSocketRoute, raw: str | bytes) -> None:
        frame = json.loads(raw)
        self.received.append(frame)
        replies: list[Frame] = []
        if frame["type"] == "message":
            replies = (self.on_message or default_reply)(frame)
        elif frame["type"] == "resume":
            replies = [conversation_frame(self.history)]
        for reply in replies:
            ws.send(json.dumps(reply))

    def push(self, frame: Frame) -> None:
        """Send a frame unprompted (a staff reply, a csat_request...) on the newest socket."""
        self.sockets[-1].send(json.dumps(frame))

    def sent(self, kind: str) -> list[Frame]:
        return [f for f in self.received if f["type"] == kind]


def conversation_frame(messages: list[Frame] | None = None) -> Frame:
    return {
        "type": "conversation",
        "conversation_id": CONVERSATION,
        "owner": "bot",
        "messages": messages or [],
    }


def reply_frame(text: str, client_id: str | None = None, **extra: Any) -> Frame:
    return {
        "type": "message",
        "id": f"m-{abs(hash((text, client_id)))}",
        "conversation_id": CONVERSATION,
        "role": "assistant",
        "text": text,
        "citations": [],
        "owner": "bot",
        "created_at": "2026-11-30T05:00:00Z",
        "client_id": client_id,
        "quick_replies": [],
        **extra,
    }


def default_reply(frame: Frame, text: str = "OK", **extra: Any) -> list[Frame]:
    cid = frame.get("client_id")
    return [
        conversation_frame(),
        {
            "type": "ack",
            "conversation_id": CONVERSATION,
            "message_id": f"c-{cid}",
            "client_id": cid,
        },
        reply_frame(text, cid, **extra),
    ]


def open_shop(
    page: Page,
    *,
    html: str | None = None,
    script_attrs: str = "",
    head: str = "",
    chat: FakeChat | None = None,
) -> FakeChat:
    """Load the shop (the demo storefront unless `html` is given) with the widget on it."""
    chat = chat or FakeChat()
    page_html = html if html is not None else widget.asset("storefront.html").decode()
    if script_attrs:
        page_html = page_html.replace(
            '<script src="/widget.js"', f'<script src="/widget.js" {script_attrs}'
        )
    if head:
        page_html = page_html.replace("</head>", f"{head}</head>")

    def fulfil(route: Route) -> None:
        path = route.request.url.removeprefix(SHOP).split("?")[0]
        if path == "/widget.js":
            route.fulfill(body=widget.bundle(), content_type="text/javascript")
        elif path == "/widget.css":
            route.fulfill(body=widget.asset("widget.css"), content_type="text/css")
        elif path == "/":
            route.fulfill(body=page_html, content_type="text/html")
        else:
            route.fulfill(status=404, body="not found")

    page.route(f"{SHOP}/**", fulfil)
    page.route_web_socket("ws://shop.test/ws/chat", chat.handle)
    page.goto(f"{SHOP}/")
    page.locator("support-chat .launcher").wait_for(state="visible")
    return chat


def wait_for_frames(page: Page, chat: FakeChat, kind: str, count: int = 1) -> list[Frame]:
    """Let the browser run until the fake server has `count` frames of `kind`."""
    for _ in range(100):
        if len(chat.sent(kind)) >= count:
            return chat.sent(kind)
        page.wait_for_timeout(50)
    raise AssertionError(f"no {kind!r} frame (got {[f['type'] for f in chat.received]})")
