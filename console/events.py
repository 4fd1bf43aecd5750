"""Live updates for the staff console: `GET /api/staff/events`, server-sent events.

Fed from the bus (bus.py `STAFF_TOPIC`), so an escalation opened by the worker holding the
customer's socket reaches a console streaming from another worker (through Redis). Each event
is one `data:` line of JSON with a `type`:

  - `message`: a message in a conversation (`conversation_id`, `id`, `role`: customer,
    assistant, staff or system)
  - `escalation`: an escalation created (`escalation_id`, `conversation_id`, `reason`; for an
    action waiting for approval `reason: approval_required` and `action_id`)
  - `note`: an internal note added (`conversation_id`, `id`, `staff_id`)
  - `ownership`: claim, assign, resolve or hand back (`conversation_id`, `owner`,
    `owner_staff_id`, `version`, `escalation_id`, `escalation_status`)
  - `action`: a staff decision on an action (`action_id`, `conversation_id`, `outcome`)
  - `logout`: the session ended; the stream closes after it

Events say what changed; the console reloads the rows (the database is the truth, and pub/sub
is fire-and-forget). A comment line (`: heartbeat`) every `staff_events_heartbeat_s` keeps
proxies from closing an idle stream; at each one a session-authenticated stream checks that its
session is still alive, so a session that expires ends the stream. Signing out and disabling an
account end the member's streams at once: they publish `session.ended` (never forwarded), on which
each of that member's streams checks its own session."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from bus import STAFF_TOPIC
from console import sessions
from console.auth import Staff, StaffPrincipal
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff", tags=["events"])

SUBSCRIBE_CHECK_S = 5.0
HELLO = "stream.hello"  # a stream's own probe that its subscription is live; never forwarded
# a member signed out or was disabled: their streams check their session at once (not forwarded)
SESSION_ENDED = "session.ended"


def frame(event: dict[str, Any], event_id: int) -> str:
    return f"id: {event_id}\ndata: {json.dumps(event, default=str, separators=(',', ':'))}\n\n"


async def _settle(services: Any, queue: asyncio.Queue[dict[str, Any]]) -> None:
    """Waits until the subscription really receives (across workers the SUBSCRIBE reaches
    Redis asynchronously): publishes a probe and reads it back, so no event published after
    the stream said `connected` can be missed."""
    nonce = uuid.uuid4().hex
    early: list[dict[str, Any]] = []  # real events that came first: kept, in order
    await services.bus.publish(STAFF_TOPIC, {"type": HELLO, "nonce": nonce})
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SUBSCRIBE_CHECK_S):
            while True:
                got = await queue.get()
                if got.get("type") == HELLO and got.get("nonce") == nonce:
                    break
                if got.get("type") != HELLO:
                    early.append(got)
    while not queue.empty():
        early.append(queue.get_nowait())
    for event in early:
        queue.put_nowait(event)


async def _still_signed_in(services: Any, principal: StaffPrincipal, cookie: str | None) -> bool:
    if principal.via != "session":
        return True  # the bearer token is checked once; it has no session to end
    return await sessions.resolve(services, cookie) is not None


async def stream_events(
    request: Request, services: Any, principal: StaffPrincipal
) -> AsyncIterator[str]:
    heartbeat = float(getattr(services.settings, "staff_events_heartbeat_s", 15.0))
    cookie = request.cookies.get(sessions.COOKIE)
    async with services.bus.subscribe(STAFF_TOPIC) as queue:
        await _settle(services, queue)
        yield "retry: 3000\n: connected\n\n"
        event_id = 0
        while True:
            try:
                async with asyncio.timeout(heartbeat):
                    event = await queue.get()
            except TimeoutError:
                if await request.is_disconnected():
                    return
                if not await _still_signed_in(services, principal, cookie):
                    event_id += 1
                    yield frame({"type": "logout"}, event_id)
                    return
                yield ": heartbeat\n\n"
                continue
            if event.get("type") == HELLO:
                continue
            if event.get("type") == SESSION_ENDED:
                if (
                    principal.via == "session"
                    and event.get("staff_id") == principal.id
                    and not await _still_signed_in(services, principal, cookie)
                ):
                    event_id += 1
                    yield frame({"type": "logout"}, event_id)
                    return
                continue
            event_id += 1
            yield frame(event, event_id)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}},
)
async def events(request: Request, services: ServicesDep, principal: Staff) -> StreamingResponse:
    """Server-sent events for the console: queue, conversation, ownership and approval changes
    as they happen, on any worker. See console/events.py for the event types."""
    return StreamingResponse(
        stream_events(request, services, principal),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
