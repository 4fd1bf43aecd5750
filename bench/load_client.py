"""The simulated customers of bench/load.py: each one a loop of visits, each visit a conversation
on its own WebSocket, each turn timed from sending the `message` frame to the server's final
`message` frame for it (the one that echoes our client_id).

Every loop is bounded: no turn starts after the deadline or past the turn budget, a turn waits
at most `turn_timeout` seconds, and a failed visit ends that conversation."""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from bench.load_mix import Mix, Script

MAX_FRAME = 1 << 20


@dataclass
class TurnRecord:
    kind: str
    started: float  # monotonic seconds
    latency_s: float | None  # None when the turn failed
    error: str | None = None  # "error:<code>", "closed", "timeout", "connect"


@dataclass
class Fleet:
    """Shared state of one run: the mix, the bounds and what every turn did."""

    url: str
    mix: Mix
    deadline: float  # monotonic: no turn starts after it
    max_turns: int | None = None  # no turn starts past this many
    pause: tuple[float, float] | None = None  # seconds between two sends of one customer
    turn_timeout: float = 30.0
    seed: int = 7
    records: list[TurnRecord] = field(default_factory=list)
    visits: int = 0
    _started_turns: int = 0

    def _may_start(self) -> bool:
        if time.monotonic() >= self.deadline:
            return False
        if self.max_turns is not None and self._started_turns >= self.max_turns:
            return False
        self._started_turns += 1
        return True

    async def customer(self, index: int, *, stagger: float = 0.0) -> None:
        """One customer: visits, one after another, until a bound is reached."""
        rng = random.Random(self.seed * 1000 + index)
        if stagger:
            await asyncio.sleep(min(rng.uniform(0, stagger), max(0.0, self.remaining())))
        while self.remaining() > 0 and self._turns_left():
            self.visits += 1
            await self._visit(self.mix.next_script(), rng)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _turns_left(self) -> bool:
        return self.max_turns is None or self._started_turns < self.max_turns

    async def _visit(self, script: Script, rng: random.Random) -> None:
        try:
            async with websockets.connect(
                self.url, open_timeout=self.turn_timeout, close_timeout=2, max_size=MAX_FRAME
            ) as ws:
                for number, turn in enumerate(script.turns):
                    if not self._may_start():
                        return
                    sent_at = time.monotonic()
                    record = await self._turn(ws, turn.kind, turn.text, f"{script.name}-{number}")
                    self.records.append(record)
                    if record.error is not None:
                        return  # the conversation is in an unknown state: start a new visit
                    if self.pause is not None:
                        # the next message goes out U(pause) after this one was sent, or at
                        # once when the reply took longer than that
                        wait = sent_at + rng.uniform(*self.pause) - time.monotonic()
                        await asyncio.sleep(max(0.0, min(wait, self.remaining())))
        except (OSError, TimeoutError, InvalidHandshake, InvalidStatus) as exc:
            self.records.append(TurnRecord("connect", time.monotonic(), None, _name(exc)))
        except ConnectionClosed:
            pass  # closing after the last turn; a turn cut short is recorded by _turn

    async def _turn(
        self, ws: websockets.ClientConnection, kind: str, text: str, tag: str
    ) -> TurnRecord:
        client_id = f"{tag}-{random.getrandbits(48):012x}"
        started = time.monotonic()
        try:
            await ws.send(json.dumps({"type": "message", "text": text, "client_id": client_id}))
            async with asyncio.timeout(self.turn_timeout):
                while True:
                    frame = json.loads(await ws.recv())
                    if frame.get("type") == "error":
                        return TurnRecord(kind, started, None, f"error:{frame.get('code')}")
                    if frame.get("type") == "message" and frame.get("client_id") == client_id:
                        return TurnRecord(kind, started, time.monotonic() - started)
        except TimeoutError:
            return TurnRecord(kind, started, None, "timeout")
        except ConnectionClosed:
            return TurnRecord(kind, started, None, "closed")


def _name(exc: BaseException) -> str:
    if isinstance(exc, InvalidStatus):
        return f"connect:http_{exc.response.status_code}"
    if isinstance(exc, TimeoutError):
        return "connect:timeout"
    return f"connect:{type(exc).__name__}"


async def hold_idle(
    url: str, count: int, *, batch: int = 50, wait_s: float = 30.0
) -> tuple[list[websockets.ClientConnection], dict[str, int]]:
    """Opens `count` sockets that say nothing, `batch` handshakes at a time. Returns the open
    ones and the failures by cause."""
    opened: list[websockets.ClientConnection] = []
    failures: dict[str, int] = {}

    async def one() -> None:
        try:
            opened.append(
                await websockets.connect(
                    url, open_timeout=wait_s, close_timeout=2, ping_interval=None
                )
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidStatus) as exc:
            failures[_name(exc)] = failures.get(_name(exc), 0) + 1

    for first in range(0, count, batch):
        await asyncio.gather(*(one() for _ in range(min(batch, count - first))))
    return opened, failures


async def ping_all(sockets: list[websockets.ClientConnection], wait_s: float = 30.0) -> int:
    """How many of the held sockets still answer a protocol `ping` with `pong`."""

    async def one(ws: websockets.ClientConnection) -> bool:
        try:
            await ws.send('{"type": "ping"}')
            async with asyncio.timeout(wait_s):
                return json.loads(await ws.recv()).get("type") == "pong"
        except (ConnectionClosed, TimeoutError, ValueError):
            return False

    return sum(await asyncio.gather(*(one(ws) for ws in sockets)))
