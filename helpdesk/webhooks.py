"""Inbound helpdesk webhooks, framework-free: verify, then parse a staff reply.

Every verifier checks, in order: the credential (signature or token, constant-time), the
timestamp window (stale and future both rejected), then the replay record — the signature (or,
for Freshdesk, a digest of the body) must not have been accepted before. It raises
`WebhookRejected(reason)`; the HTTP layer answers 401 and logs the reason.

The replay record is written through `replay`, an async callable returning True the first time
it sees a key. `SqlReplayGuard(session)` writes `webhook_replay` in the caller's transaction:
commit it together with the relay of the reply, so a request that failed midway can be retried.

Parsers return a `StaffReply`, or None for what must not reach the customer: private or internal
notes, comments by the customer, and comments our own integration wrote (the loop guard).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from errors import SupportAgentError
from helpdesk.connectors import signing
from helpdesk.connectors.base import LOOP_MARKER
from storage.tables import utcnow
from storage.tables_helpdesk import WebhookReplay

ZENDESK_SIGNATURE = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
FRESHDESK_TOKEN = "X-Support-Agent-Token"  # set as a custom header in the Freshdesk rule

ReplayGuard = Callable[[str], Awaitable[bool]]


class WebhookRejected(SupportAgentError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # missing_credentials | bad_signature | bad_timestamp | replayed


class StaffReply(BaseModel):
    source: str  # zendesk | freshdesk | webhook
    external_id: str | None = None  # the helpdesk's ticket id
    escalation_id: str | None = None
    conversation_id: str | None = None
    comment_id: str | None = None  # dedupe key for the relay, when the helpdesk gives one
    author: str
    body: str
    public: bool = True


class SqlReplayGuard:
    def __init__(self, session: AsyncSession, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._session = session
        self._clock = clock

    async def __call__(self, key: str) -> bool:
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        result = await self._session.execute(
            insert(WebhookReplay)
            .values(key=key[:200], source=key.split(":", 1)[0][:20], seen_at=self._clock())
            .on_conflict_do_nothing(index_elements=["key"])
        )
        return getattr(result, "rowcount", 0) == 1


async def prune_replays(session: AsyncSession, *, older_than: timedelta, now: datetime) -> int:
    """Keys older than the timestamp window can go: such requests fail the window anyway."""
    result = await session.execute(
        delete(WebhookReplay).where(WebhookReplay.seen_at < now - older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _check_window(raw: str | None, *, now: datetime, tolerance_s: float) -> None:
    when = signing.parse_timestamp(raw) if raw else None
    if when is None or not signing.within_window(when, now=now, tolerance_s=tolerance_s):
        raise WebhookRejected("bad_timestamp")


async def _check_replay(replay: ReplayGuard, key: str) -> None:
    if not await replay(key):
        raise WebhookRejected("replayed")


async def verify_zendesk(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    now: datetime,
    replay: ReplayGuard,
    tolerance_s: float = signing.DEFAULT_TOLERANCE_S,
) -> None:
    signature, timestamp = _header(headers, ZENDESK_SIGNATURE), _header(headers, ZENDESK_TIMESTAMP)
    if not signature or not timestamp or not secret:
        raise WebhookRejected("missing_credentials")
    if not signing.verify_zendesk(secret, timestamp=timestamp, body=body, signature=signature):
        raise WebhookRejected("bad_signature")
    _check_window(timestamp, now=now, tolerance_s=tolerance_s)
    await _check_replay(replay, f"zendesk:{signature.strip()}")


async def verify_generic(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    now: datetime,
    replay: ReplayGuard,
    tolerance_s: float = signing.DEFAULT_TOLERANCE_S,
) -> None:
    signature = _header(headers, signing.SIGNATURE_HEADER)
    timestamp = _header(headers, signing.TIMESTAMP_HEADER)
    if not signature or not timestamp or not secret:
        raise WebhookRejected("missing_credentials")
    if not signing.verify(secret, timestamp=timestamp.strip(), body=body, signature=signature):
        raise WebhookRejected("bad_signature")
    _check_window(timestamp, now=now, tolerance_s=tolerance_s)
    await _check_replay(replay, f"webhook:{signature.strip()}")


async def verify_freshdesk(
    headers: Mapping[str, str],
    body: bytes,
    *,
    token: str,
    now: datetime,
    replay: ReplayGuard,
    tolerance_s: float = signing.DEFAULT_TOLERANCE_S,
) -> None:
    """Freshdesk cannot sign: its automation rule sends a shared token in a custom header. A
    timestamp header is checked when present (a proxy in front may add one); replays are caught
    by a digest of the body."""
    given = _header(headers, FRESHDESK_TOKEN)
    if not given or not token:
        raise WebhookRejected("missing_credentials")
    if not signing.same(token, given.strip()):
        raise WebhookRejected("bad_signature")
    timestamp = _header(headers, signing.TIMESTAMP_HEADER)
    if timestamp is not None:
        _check_window(timestamp, now=now, tolerance_s=tolerance_s)
    await _check_replay(replay, f"freshdesk:{hashlib.sha256(body).hexdigest()}")


def _load(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise WebhookRejected("bad_payload") from exc
    if not isinstance(data, dict):
        raise WebhookRejected("bad_payload")
    return data


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _flag(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return default
    return str(value).strip().lower() in {"true", "1", "yes", "public"}


def escalation_from_key(value: str | None) -> str | None:
    """Our Zendesk external_id is the outbox key `ticket:<escalation id>`."""
    return value.split(":", 1)[1] if value and value.startswith("ticket:") else None


def _ours(body: str, author_id: str, own_author_ids: Collection[str]) -> bool:
    return LOOP_MARKER in body or (bool(author_id) and author_id in own_author_ids)


def parse_zendesk(body: bytes, *, own_author_ids: Collection[str] = ()) -> StaffReply | None:
    """Zendesk's `zen:event-type:ticket.comment_added` event, or the flat trigger payload
    documented in docs/helpdesk.md."""
    data = _load(body)
    if str(data.get("type", "")).startswith("zen:event-type:"):
        if data["type"] != "zen:event-type:ticket.comment_added":
            return None
        detail = data.get("detail") or {}
        comment = (data.get("event") or {}).get("comment") or {}
        author = comment.get("author") or {}
        ticket_id, ticket_external = _text(detail.get("id")), _text(detail.get("external_id"))
        comment_id, text = _text(comment.get("id")), _text(comment.get("body"))
        public = _flag(comment.get("is_public"), False)
        is_staff = _flag(author.get("is_staff"), False)
        author_id, author_name = _text(author.get("id")), _text(author.get("name"))
    else:
        ticket_id, ticket_external = _text(data.get("ticket_id")), _text(data.get("external_id"))
        comment_id, text = _text(data.get("comment_id")), _text(data.get("body"))
        public, is_staff = _flag(data.get("public"), False), _flag(data.get("is_staff"), True)
        author_id, author_name = _text(data.get("author_id")), _text(data.get("author"))
    if not public or not is_staff or not text or _ours(text, author_id, own_author_ids):
        return None
    return StaffReply(
        source="zendesk",
        external_id=ticket_id or None,
        escalation_id=escalation_from_key(ticket_external),
        comment_id=comment_id or None,
        author=author_name or "Support team",
        body=text,
        public=True,
    )


def parse_freshdesk(body: bytes, *, own_author_ids: Collection[str] = ()) -> StaffReply | None:
    """The payload of the Freshdesk automation rule documented in docs/helpdesk.md."""
    data = _load(body)
    data = data.get("freshdesk_webhook", data)  # Freshdesk's simple mode wraps the fields
    text = _text(data.get("body"))
    author_id = _text(data.get("author_id"))
    public = not _flag(data.get("private"), False)
    if not public or not _flag(data.get("is_agent"), True) or not text:
        return None
    if _ours(text, author_id, own_author_ids):
        return None
    return StaffReply(
        source="freshdesk",
        external_id=_text(data.get("ticket_id")) or None,
        comment_id=_text(data.get("comment_id")) or None,
        author=_text(data.get("author")) or "Support team",
        body=text,
        public=True,
    )


def parse_generic(body: bytes) -> StaffReply | None:
    """`{"event": "staff.reply", "external_id" | "conversation_id", "author", "body",
    "public", "comment_id"}`; other events are ignored."""
    data = _load(body)
    if data.get("event") != "staff.reply":
        return None
    text = _text(data.get("body"))
    external_id = _text(data.get("external_id"))
    conversation_id = _text(data.get("conversation_id"))
    if not _flag(data.get("public"), True) or not text or LOOP_MARKER in text:
        return None
    if not external_id and not conversation_id:
        raise WebhookRejected("bad_payload")
    return StaffReply(
        source="webhook",
        external_id=external_id or None,
        escalation_id=escalation_from_key(external_id),
        conversation_id=conversation_id or None,
        comment_id=_text(data.get("comment_id")) or None,
        author=_text(data.get("author")) or "Support team",
        body=text,
        public=True,
    )
