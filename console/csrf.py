"""Cross-site request forgery defences for cookie-authenticated staff calls.

Two checks, both needed on every state-changing call made with the session cookie:
- the `X-CSRF-Token` header must carry the session's token, an HMAC of the session id under the
  app secret. Another site can make a browser send the cookie but cannot read the token (the
  page gets it from the sign-in answer or `GET /api/staff/me`, both same-origin JSON).
- a browser's `Origin` (or, without one, `Sec-Fetch-Site: cross-site`) must not name another
  site. The console is same-origin only: the widget's `allowed_origins` do not count here.
Calls with the bearer token carry no cookie and need neither. Sign-in has no session yet and
takes the origin check alone."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from fastapi import HTTPException
from starlette.requests import HTTPConnection

from web.origin import own_origin, parse_origin

HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_for(settings: Any, session_id: str) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"staff-csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


def same_site(conn: HTTPConnection, settings: Any) -> bool:
    origin = conn.headers.get("origin")
    if origin is None:
        # scripts send no Origin; browsers that send Fetch Metadata say where the call came from
        return conn.headers.get("sec-fetch-site", "same-origin") != "cross-site"
    parsed = parse_origin(origin)
    if parsed is None:  # "null": a sandboxed frame or a redirect across sites
        return False
    public = parse_origin(settings.public_url) if settings.public_url else None
    return parsed == own_origin(conn.scope) or (public is not None and parsed == public)


def require_same_site(conn: HTTPConnection, settings: Any) -> None:
    if not same_site(conn, settings):
        raise HTTPException(403, "this request came from another site")


def require_token(conn: HTTPConnection, settings: Any, session_id: str) -> None:
    """403 unless the call carries this session's CSRF token and comes from our own site."""
    require_same_site(conn, settings)
    given = conn.headers.get(HEADER.lower(), "")
    if not hmac.compare_digest(given.encode(), token_for(settings, session_id).encode()):
        raise HTTPException(403, f"missing or wrong {HEADER} header")
