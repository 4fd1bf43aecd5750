"""Server-side staff sessions behind the `sa_staff` cookie.

The cookie holds a random id (256 bits); the table keeps only its SHA-256 digest, so reading
the database or a backup signs no one in. A session ends at sign-out, when its account is
disabled or its password changed, after `staff_session_idle_s` without a request, and in any
case `staff_session_max_s` after sign-in. `last_seen_at` is written at most once a minute, so
a page polling the API does not turn every read into a write."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from starlette.requests import HTTPConnection
from starlette.responses import Response

from storage.tables import utcnow
from storage.tables_console import StaffMember, StaffSession

COOKIE = "sa_staff"
TOUCH_EVERY_S = 60
_ID_BYTES = 32


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes: they were written in UTC
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SignedIn:
    session_id: str  # the cookie's value (never stored)
    member: StaffMember


async def start(services: Any, member: StaffMember) -> str:
    """A new session for `member`; returns the id the cookie carries."""
    session_id = secrets.token_urlsafe(_ID_BYTES)
    now = utcnow()
    async with services.sessions.begin() as db:
        db.add(
            StaffSession(
                id_hash=digest(session_id),
                staff_id=member.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(seconds=services.settings.staff_session_max_s),
            )
        )
    return session_id


async def resolve(services: Any, session_id: str | None) -> SignedIn | None:
    """The signed-in member of a live session, else None. An expired session, or one of a
    disabled account, is deleted on the way."""
    if not session_id or len(session_id) > 200:
        return None
    key = digest(session_id)
    settings = services.settings
    now = utcnow()
    async with services.sessions() as db:
        row = await db.get(StaffSession, key)
        member = await db.get(StaffMember, row.staff_id) if row is not None else None
    if row is None or member is None:
        return None
    idle = timedelta(seconds=settings.staff_session_idle_s)
    expired = now >= _aware(row.expires_at) or now - _aware(row.last_seen_at) >= idle
    if expired or member.disabled_at is not None:
        await end(services, session_id)
        return None
    if now - _aware(row.last_seen_at) >= timedelta(seconds=TOUCH_EVERY_S):
        async with services.sessions.begin() as db:
            fresh = await db.get(StaffSession, key)
            if fresh is not None:
                fresh.last_seen_at = now
    return SignedIn(session_id, member)


async def end(services: Any, session_id: str) -> None:
    async with services.sessions.begin() as db:
        await db.execute(delete(StaffSession).where(StaffSession.id_hash == digest(session_id)))


def secure(conn: HTTPConnection, settings: Any) -> bool:
    """Secure cookies when this request came over HTTPS or the public URL is https."""
    public = (getattr(settings, "public_url", None) or "").lower()
    return conn.url.scheme in ("https", "wss") or public.startswith("https://")


def set_cookie(response: Response, conn: HTTPConnection, settings: Any, session_id: str) -> None:
    # no Max-Age: a browser session cookie; the server decides when the session is over
    response.set_cookie(
        COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        path="/",
        secure=secure(conn, settings),
    )


def clear_cookie(response: Response, conn: HTTPConnection, settings: Any) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=secure(conn, settings)
    )
