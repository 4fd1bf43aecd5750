"""Inbound webhooks: a valid request passes; a forged signature, a stale or future timestamp and
a replay are rejected; parsers relay only public staff replies and never our own words."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from helpdesk.connectors import WebhookConnector
from helpdesk.connectors.base import LOOP_MARKER
from helpdesk.connectors.signing import signature_headers, zendesk_signature
from helpdesk.webhooks import (
    FRESHDESK_TOKEN,
    ZENDESK_SIGNATURE,
    ZENDESK_TIMESTAMP,
    SqlReplayGuard,
    WebhookRejected,
    parse_freshdesk,
    parse_generic,
    parse_zendesk,
    prune_replays,
    verify_freshdesk,
    verify_generic,
    verify_zendesk,
)
from storage.engine import make_engine, make_sessionmaker
from storage.tables import Base
from storage.tables_helpdesk import WebhookReplay

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "whsec-0123456789abcdef"
BODY = json.dumps(
    {"event": "staff.reply", "external_id": "T-1", "body": "Refund approved"}
).encode()

Verify = Callable[..., Awaitable[None]]


class MemoryReplay:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def __call__(self, key: str) -> bool:
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def generic_headers(
    body: bytes = BODY, *, at: datetime = NOW, secret: str = SECRET
) -> dict[str, str]:
    return signature_headers(secret, body, now=at.timestamp())


def zendesk_headers(
    body: bytes = BODY, *, at: datetime = NOW, secret: str = SECRET
) -> dict[str, str]:
    timestamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        ZENDESK_SIGNATURE: zendesk_signature(secret, timestamp, body),
        ZENDESK_TIMESTAMP: timestamp,
    }


async def rejected(verify: Verify, headers: dict[str, str], body: bytes, **kwargs: Any) -> str:
    with pytest.raises(WebhookRejected) as caught:
        await verify(headers, body, now=NOW, **kwargs)
    return caught.value.reason


# ---- signed: generic and Zendesk ---------------------------------------------------------------

SIGNED = [
    pytest.param(verify_generic, generic_headers, id="generic"),
    pytest.param(verify_zendesk, zendesk_headers, id="zendesk"),
]


@pytest.mark.parametrize(("verify", "headers_for"), SIGNED)
async def test_a_valid_request_passes_once_and_its_replay_is_rejected(
    verify: Verify, headers_for: Callable[..., dict[str, str]]
) -> None:
    replay = MemoryReplay()
    headers = headers_for()
    await verify(headers, BODY, secret=SECRET, now=NOW, replay=replay)
    assert len(replay.seen) == 1
    reason = await rejected(verify, headers, BODY, secret=SECRET, replay=replay)
    assert reason == "replayed"
    # header names are case-insensitive, as in HTTP
    lower = {k.lower(): v for k, v in headers_for(at=NOW + timedelta(seconds=1)).items()}
    await verify(lower, BODY, secret=SECRET, now=NOW, replay=replay)


@pytest.mark.parametrize(("verify", "headers_for"), SIGNED)
async def test_forgeries_are_rejected(
    verify: Verify, headers_for: Callable[..., dict[str, str]]
) -> None:
    replay = MemoryReplay()
    forged = headers_for(secret="not-the-secret-at-all")
    assert await rejected(verify, forged, BODY, secret=SECRET, replay=replay) == "bad_signature"
    tampered = BODY.replace(b"approved", b"denied!!")
    assert (
        await rejected(verify, headers_for(), tampered, secret=SECRET, replay=replay)
        == "bad_signature"
    )
    assert await rejected(verify, {}, BODY, secret=SECRET, replay=replay) == "missing_credentials"
    # no secret configured: nothing is accepted, not even an unsigned request
    assert await rejected(verify, headers_for(), BODY, secret="", replay=replay) == (
        "missing_credentials"
    )
    assert replay.seen == set()  # rejected requests leave no replay record


@pytest.mark.parametrize(("verify", "headers_for"), SIGNED)
@pytest.mark.parametrize("offset", [-301, 301, -86_400])
async def test_stale_and_future_timestamps_are_rejected(
    verify: Verify, headers_for: Callable[..., dict[str, str]], offset: int
) -> None:
    headers = headers_for(at=NOW + timedelta(seconds=offset))  # correctly signed, wrong time
    reason = await rejected(verify, headers, BODY, secret=SECRET, replay=MemoryReplay())
    assert reason == "bad_timestamp"


async def test_the_window_is_configurable() -> None:
    headers = generic_headers(at=NOW - timedelta(seconds=200))
    await verify_generic(headers, BODY, secret=SECRET, now=NOW, replay=MemoryReplay())
    reason = await rejected(
        verify_generic, headers, BODY, secret=SECRET, replay=MemoryReplay(), tolerance_s=60
    )
    assert reason == "bad_timestamp"


async def test_our_outbound_signature_verifies_inbound() -> None:
    """The generic webhook connector and the generic endpoint share one scheme."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    connector = WebhookConnector(
        client, url="https://desk.example/h", secret=SECRET, clock=lambda: NOW.timestamp()
    )
    await connector.add_comment("T-1", "hello", public=True, idempotency_key="k1")
    request = seen[0]
    await verify_generic(
        dict(request.headers), request.content, secret=SECRET, now=NOW, replay=MemoryReplay()
    )


# ---- Freshdesk (shared token) ------------------------------------------------------------------

FD_TOKEN = "fd-token-0123456789"


async def test_freshdesk_token_replay_and_optional_timestamp() -> None:
    replay = MemoryReplay()
    await verify_freshdesk(
        {FRESHDESK_TOKEN: FD_TOKEN}, BODY, token=FD_TOKEN, now=NOW, replay=replay
    )
    assert (
        await rejected(
            verify_freshdesk, {FRESHDESK_TOKEN: FD_TOKEN}, BODY, token=FD_TOKEN, replay=replay
        )
        == "replayed"
    )
    assert (
        await rejected(
            verify_freshdesk, {FRESHDESK_TOKEN: "guess"}, b"{}", token=FD_TOKEN, replay=replay
        )
        == "bad_signature"
    )
    assert (
        await rejected(verify_freshdesk, {}, b"{}", token=FD_TOKEN, replay=replay)
        == "missing_credentials"
    )
    stale = {FRESHDESK_TOKEN: FD_TOKEN, **generic_headers(b"{}", at=NOW - timedelta(hours=1))}
    assert (
        await rejected(verify_freshdesk, stale, b'{"x":1}', token=FD_TOKEN, replay=replay)
        == "bad_timestamp"
    )


# ---- the replay table --------------------------------------------------------------------------


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'replay.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_the_replay_record_lives_in_the_callers_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    headers = zendesk_headers()
    async with sessions.begin() as session:
        await verify_zendesk(
            headers, BODY, secret=SECRET, now=NOW, replay=SqlReplayGuard(session, clock=lambda: NOW)
        )
    async with sessions.begin() as session:  # another request, another transaction
        reason = await rejected(
            verify_zendesk, headers, BODY, secret=SECRET, replay=SqlReplayGuard(session)
        )
        assert reason == "replayed"

    # a relay that failed rolls the record back, so the helpdesk's retry is accepted
    retry = zendesk_headers(at=NOW + timedelta(seconds=5))
    with pytest.raises(RuntimeError):
        async with sessions.begin() as session:
            await verify_zendesk(
                retry, BODY, secret=SECRET, now=NOW, replay=SqlReplayGuard(session)
            )
            raise RuntimeError("relay failed")
    async with sessions.begin() as session:
        await verify_zendesk(retry, BODY, secret=SECRET, now=NOW, replay=SqlReplayGuard(session))

    async with sessions.begin() as session:
        keys = (await session.scalars(select(WebhookReplay.key))).all()
        assert len(keys) == 2 and all(key.startswith("zendesk:") for key in keys)
        removed = await prune_replays(
            session, older_than=timedelta(seconds=600), now=datetime.now(UTC) + timedelta(hours=1)
        )
        assert removed == 2
        assert await session.scalar(select(func.count()).select_from(WebhookReplay)) == 0


# ---- parsing -----------------------------------------------------------------------------------


def zendesk_event(**comment: Any) -> bytes:
    base = {
        "id": "5001",
        "body": "Your refund is on its way.",
        "is_public": True,
        "author": {"id": "321", "name": "Ann (Support)", "is_staff": True},
    }
    return json.dumps(
        {
            "type": "zen:event-type:ticket.comment_added",
            "detail": {"id": "9001", "external_id": "ticket:esc-42", "status": "OPEN"},
            "event": {"comment": base | comment},
        }
    ).encode()


def test_zendesk_public_staff_comment_becomes_a_staff_reply() -> None:
    reply = parse_zendesk(zendesk_event())
    assert reply is not None
    assert reply.model_dump() == {
        "source": "zendesk",
        "external_id": "9001",
        "escalation_id": "esc-42",
        "conversation_id": None,
        "comment_id": "5001",
        "author": "Ann (Support)",
        "body": "Your refund is on its way.",
        "public": True,
    }


@pytest.mark.parametrize(
    "comment",
    [
        {"is_public": False},  # an internal note
        {"author": {"id": "77", "name": "Jane", "is_staff": False}},  # the customer by email
        {"author": {"id": "999", "name": "Integration", "is_staff": True}},  # our API user
        {"body": f"Customer added: size M\n\n{LOOP_MARKER}"},  # our own words coming back
        {"body": "   "},
    ],
)
def test_zendesk_notes_customer_comments_and_our_own_are_ignored(comment: dict[str, Any]) -> None:
    assert parse_zendesk(zendesk_event(**comment), own_author_ids={"999"}) is None


def test_zendesk_other_events_and_the_trigger_payload() -> None:
    other = json.dumps({"type": "zen:event-type:ticket.status_changed", "detail": {}}).encode()
    assert parse_zendesk(other) is None
    trigger = json.dumps(
        {
            "ticket_id": "9001",
            "external_id": "ticket:esc-42",
            "comment_id": "",
            "author": "Ann",
            "author_id": "321",
            "public": "true",
            "body": "Done!",
        }
    ).encode()
    reply = parse_zendesk(trigger)
    assert reply is not None and reply.body == "Done!" and reply.escalation_id == "esc-42"
    with pytest.raises(WebhookRejected):
        parse_zendesk(b"not json")


def test_freshdesk_public_agent_reply_only() -> None:
    payload = {
        "ticket_id": "555",
        "author": "Bo",
        "author_id": "11",
        "is_agent": "true",
        "private": "false",
        "body": "We have sent a replacement.",
    }
    reply = parse_freshdesk(json.dumps({"freshdesk_webhook": payload}).encode())
    assert reply is not None
    assert (reply.source, reply.external_id, reply.author) == ("freshdesk", "555", "Bo")
    assert parse_freshdesk(json.dumps(payload | {"private": "true"}).encode()) is None
    assert parse_freshdesk(json.dumps(payload | {"is_agent": "false"}).encode()) is None
    assert parse_freshdesk(json.dumps(payload).encode(), own_author_ids={"11"}) is None
    marked = payload | {"body": f"note\n{LOOP_MARKER}"}
    assert parse_freshdesk(json.dumps(marked).encode()) is None


def test_generic_staff_reply() -> None:
    reply = parse_generic(BODY)
    assert reply is not None and reply.external_id == "T-1" and reply.body == "Refund approved"
    by_conversation = {
        "event": "staff.reply",
        "conversation_id": "conv-7",
        "body": "Hi",
        "author": "Cy",
        "comment_id": "c1",
    }
    reply = parse_generic(json.dumps(by_conversation).encode())
    assert reply is not None and reply.conversation_id == "conv-7" and reply.author == "Cy"
    assert parse_generic(json.dumps({"event": "ticket.closed"}).encode()) is None
    private = by_conversation | {"public": False}
    assert parse_generic(json.dumps(private).encode()) is None
    with pytest.raises(WebhookRejected):
        parse_generic(json.dumps({"event": "staff.reply", "body": "orphan"}).encode())


async def test_freshdesk_replay_key_is_a_body_digest() -> None:
    replay = MemoryReplay()
    await verify_freshdesk(
        {FRESHDESK_TOKEN: FD_TOKEN}, BODY, token=FD_TOKEN, now=NOW, replay=replay
    )
    assert replay.seen == {f"freshdesk:{hashlib.sha256(BODY).hexdigest()}"}
