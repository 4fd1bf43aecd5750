"""Which browser pages may talk to the chat: an ASGI guard on /ws/chat and POST /api/chat.

A page on another site could otherwise open the chat socket or post turns with a visitor's
browser (cross-site WebSocket hijacking, spam that looks like real traffic). Browsers always
send Origin on these requests; scripts and curl do not, and they gain nothing from a browser's
credentials, so a request without an Origin passes. Allowed: the server's own origin (from the
Host header, or `public_url` behind a proxy), the `allowed_origins` list, or anything with "*".
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from settings import Settings
from web.errors import error_body
from web.limits import send_json

GUARDED_PATHS = frozenset({"/ws/chat", "/api/chat"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}

Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an origin or URL; None for "null" and anything unparseable."""
    try:
        parts = urlsplit(value.strip())
        scheme = _SCHEMES.get(parts.scheme.lower())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if scheme is None or not host:
        return None
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def own_origin(scope: Scope) -> Origin | None:
    """The origin this request was addressed to: its scheme and Host header."""
    host = _header(scope, b"host")
    if host is None:
        return None
    return parse_origin(f"{scope.get('scheme', 'http')}://{host}")


class OriginGuard:
    """Refuses a foreign Origin with 403; a WebSocket handshake is refused before accept, which
    the server turns into an HTTP 403 the browser sees."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        listed = [o.strip() for o in settings.allowed_origins if o.strip()]
        self.any = "*" in listed
        self.allowed = {o for o in map(parse_origin, listed) if o is not None}
        self.public = parse_origin(settings.public_url) if settings.public_url else None

    def allows(self, scope: Scope, origin: str) -> bool:
        if self.any:
            return True
        parsed = parse_origin(origin)
        if parsed is None:
            return False
        return parsed in self.allowed or parsed == self.public or parsed == own_origin(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] not in GUARDED_PATHS:
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        if origin is None or self.allows(scope, origin):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        await send_json(send, 403, error_body("forbidden", "This origin may not use the chat."))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
