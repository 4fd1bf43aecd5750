"""One-click opt-out: a signed link in every notification, honoured the moment it is used, stored
as a keyed digest of the address (never the address itself).

The link names the digest and an HMAC of it with the app's secret key, so it works without a
login and cannot be forged for somebody else's address. GET shows a confirmation page (mail
scanners fetch links; a fetch must not unsubscribe anyone); POST records it, which is also what
a mail client's one-click unsubscribe (RFC 8058, `List-Unsubscribe-Post`) sends."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpdesk.outbox import _insert
from settings import Settings
from storage.tables import utcnow
from storage.tables_notify import NotificationOptOut

OPTOUT_PATH = "/notifications/opt-out"


def _secret(settings: Settings) -> bytes:
    return settings.secret_key.get_secret_value().encode()


def email_hash(email: str, settings: Settings) -> str:
    """The keyed digest an opt-out is stored under (lower-cased, trimmed address)."""
    key = hmac.new(_secret(settings), b"notify-optout-key", hashlib.sha256).digest()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def sign(digest: str, settings: Settings) -> str:
    return hmac.new(_secret(settings), f"optout:{digest}".encode(), hashlib.sha256).hexdigest()


def verify(digest: str, token: str, settings: Settings) -> bool:
    if len(digest) != 64 or not token:
        return False
    return hmac.compare_digest(sign(digest, settings), token)


def base_url(settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"http://{settings.host}:{settings.port}"


def optout_url(email: str, settings: Settings) -> str:
    digest = email_hash(email, settings)
    query = urlencode({"h": digest, "t": sign(digest, settings)})
    return f"{base_url(settings)}{OPTOUT_PATH}?{query}"


async def record_optout(session: AsyncSession, digest: str, *, source: str) -> bool:
    """Inside the caller's transaction; True when this call added it (False: already there)."""
    result = await session.execute(
        _insert(session)(NotificationOptOut)
        .values(email_hash=digest, source=source, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["email_hash"])
    )
    return getattr(result, "rowcount", 0) == 1


async def is_opted_out(session: AsyncSession, digest: str) -> bool:
    found = await session.scalar(
        select(NotificationOptOut.email_hash).where(NotificationOptOut.email_hash == digest)
    )
    return found is not None
