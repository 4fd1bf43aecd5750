"""A customer that survives a dying server: the WebSocket client of bench/chaos.py.

It does what docs/protocol.md asks of a client ("Retries and reconnecting"): every message has
its own client_id; when the socket dies before the message's final `message` frame, it waits,
reconnects, sends `resume`, and sends the message again with the SAME client_id (the server
answers a stored message with its stored reply). While a person owns the conversation a message
gets its `ack` and nothing more, so then the ack completes it.

Everything is bounded: each wait has a timeout, each conversation a deadline."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

MAX_FRAME = 1 << 20
HUMAN_OWNERS = ("queued", "human")


class GaveUp(Exception):
    """The conversation's deadline passed (the message that was being sent is named)."""


@dataclass
class Sent:
    client_id: str
    text: str
    acked: bool = False
    reply: str | None = None  # the final `message` frame's text
    completed: bool = False
    resends: int = 0


@dataclass
class Ledger:
    """What one conversation did, as the client saw it: the checks compare it with the
    database."""

    index: int
    kind: str  # "return" | "escalation" | "status"
    conversation_id: str | None = None
    messages: list[Sent] = field(default_factory=list)
    owner: str = "bot"
    order_number: str | None = None
    escalated: bool = False  # the conversation was handed to a person
    said_yes: bool = False  # return: the customer confirmed
    rma: str | None = None  # return: the RMA the reply named
    staff_text: str | None = None  # the staff reply posted for this conversation
    staff_seen: str | None = None  # "live" | "history"
    staff_missed_live: bool = False  # posted while our socket was open, yet only in history
    reconnects: int = 0
    completed: bool = False
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Customer:
    """One conversation over one socket at a time (a new one after each failure)."""

    def __init__(
        self,
        url: str,
        ledger: Ledger,
        *,
        deadline: float,
        turn_timeout: float = 120.0,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.ledger = ledger
        self.deadline = deadline
        self.turn_timeout = turn_timeout
        self.rng = rng or random.Random(ledger.index)
        self.ws: websockets.ClientConnection | None = None
        self.history: list[dict[str, Any]] = []  # the last resume's messages
        self.live_staff: list[str] = []  # staff texts that arrived as frames

    # --- the socket ----------------------------------------------------------------------

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    async def close(self) -> None:
        if self.ws is not None:
            ws, self.ws = self.ws, None
            await asyncio.wait_for(ws.close(), 3)

    async def drop(self) -> None:
        try:
            await self.close()
        except (TimeoutError, ConnectionClosed, OSError):
            self.ws = None

    async def connect(self) -> None:
        """Connects (with backoff) and, for a known conversation, resumes it."""
        attempt = 0
        while True:
            if self.remaining() <= 0:
                raise GaveUp("connect")
            try:
                self.ws = await websockets.connect(
                    self.url, open_timeout=15, close_timeout=2, max_size=MAX_FRAME
                )
                if self.ledger.conversation_id is not None:
                    await self._resume()
                return
            except (OSError, TimeoutError, InvalidHandshake, InvalidStatus, ConnectionClosed):
                await self.drop()
                attempt += 1
                self.ledger.reconnects += 1
                await asyncio.sleep(min(5.0, 0.25 * 2**attempt) * self.rng.uniform(0.5, 1.0))

    async def _resume(self) -> None:
        assert self.ws is not None
        await self.ws.send(
            json.dumps({"type": "resume", "conversation_id": self.ledger.conversation_id})
        )
        frame = await self._until(lambda f: f.get("type") == "conversation", wait_s=30)
        self.history = list(frame.get("messages") or [])

    async def _until(self, want: Any, *, wait_s: float) -> dict[str, Any]:
        """Reads frames (noting each one) until `want(frame)`; raises TimeoutError or
        ConnectionClosed."""
        assert self.ws is not None
        async with asyncio.timeout(min(wait_s, max(0.1, self.remaining()))):
            while True:
                frame = json.loads(await self.ws.recv())
                self._note(frame)
                if want(frame):
                    return frame

    def _note(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "conversation":
            self.ledger.conversation_id = frame["conversation_id"]
            self.ledger.owner = frame.get("owner") or self.ledger.owner
        elif kind == "escalated":
            self.ledger.escalated = True
            self.ledger.owner = "queued"
        elif kind == "message":
            self.ledger.owner = frame.get("owner") or self.ledger.owner
            if frame.get("role") == "staff":
                self.live_staff.append(frame.get("text") or "")

    # --- one message ---------------------------------------------------------------------

    async def say(self, text: str) -> str | None:
        """Sends one message until it is answered (or, with a person in charge, acknowledged).
        Returns the reply's text, or None when only the ack was due."""
        sent = Sent(
            f"c{self.ledger.index}-{len(self.ledger.messages)}-{uuid.uuid4().hex[:8]}", text
        )
        self.ledger.messages.append(sent)
        while True:
            if self.remaining() <= 0:
                raise GaveUp(text)
            if self.ws is None:
                await self.connect()
            assert self.ws is not None
            try:
                frame = json.dumps({"type": "message", "text": text, "client_id": sent.client_id})
                await self.ws.send(frame)
                if await self._await_answer(sent):
                    sent.completed = True
                    return sent.reply
            except (ConnectionClosed, OSError, TimeoutError):
                await self.drop()  # reconnect, resume, send the same client_id again
            sent.resends += 1
            await asyncio.sleep(self.rng.uniform(0.2, 1.0))

    async def _await_answer(self, sent: Sent) -> bool:
        """True once the message is answered; False to send it again after an error frame."""

        def mine(frame: dict[str, Any]) -> bool:
            kind = frame.get("type")
            if kind == "error":
                return True
            if frame.get("client_id") != sent.client_id:
                return False
            if kind == "ack":
                sent.acked = True
                # a person owns the conversation: nothing but the ack will come
                return self.ledger.owner in HUMAN_OWNERS
            return kind == "message"

        frame = await self._until(mine, wait_s=self.turn_timeout)
        if frame["type"] == "error":
            self.ledger.extra.setdefault("errors", []).append(frame.get("code"))
            return False
        if frame["type"] == "message":
            sent.acked = True  # the reply exists only after the message was stored
            sent.reply = frame.get("text") or ""
        return True

    # --- waiting for a person ------------------------------------------------------------

    async def await_staff(self, text: str, *, live_wait: float = 20.0) -> None:
        """Waits for the staff reply `text`: pushed on the socket, or in the history of a new
        resume (a socket that was down, or a push that never came)."""
        while self.remaining() > 0:
            if text in self.live_staff:
                self.ledger.staff_seen = "live"
                return
            if self.ws is None:
                await self.connect()
            if any(m.get("role") == "staff" and m.get("text") == text for m in self.history):
                self.ledger.staff_seen = "history"
                return
            try:
                await self._until(
                    lambda f: f.get("type") == "message" and f.get("text") == text,
                    wait_s=live_wait,
                )
            except TimeoutError:
                # open socket, no push: look at the stored history instead
                self.ledger.staff_missed_live = True
                await self._resume_again()
            except (ConnectionClosed, OSError):
                await self.drop()
        raise GaveUp("staff reply")

    async def _resume_again(self) -> None:
        try:
            await self._resume()
        except (ConnectionClosed, OSError, TimeoutError):
            await self.drop()
