"""Security headers on every HTTP response, as pure ASGI middleware.

Pages (text/html: the demo storefront) get a Content-Security-Policy that lets only our own
script and stylesheets run and lets the page talk to nothing but this host (its WebSocket
included), and may not be framed. Everything else (widget.js, widget.css, the JSON APIs) gets a
policy that allows nothing, which a browser applies only if it is ever opened as a document.
All responses get nosniff and a referrer policy. A header the route set itself is kept.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from settings import Settings
from web.origin import parse_origin

# 'unsafe-inline' styles: the storefront carries its own <style> block and style attributes;
# inline *scripts* stay forbidden, which is what stops injected markup from running
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'{sockets}; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
RESOURCE_POLICY = "default-src 'none'; frame-ancestors 'none'"
COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}
# Swagger UI and ReDoc pull scripts from a CDN; they are only served when api_docs is on
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def socket_sources(*hosts: str | None) -> str:
    """` ws://host wss://host` for the page's own hosts: 'self' alone does not cover WebSocket
    URLs in every browser, and a TLS proxy in front means the page's scheme is not ours. A Host
    header that is not a plain host[:port] adds nothing (it must not add directives)."""
    valid = dict.fromkeys(h for h in hosts if h and _HOST.match(h))
    return "".join(f" ws://{host} wss://{host}" for host in valid)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.skip_csp = DOCS_PATHS if settings.api_docs else frozenset()
        public = parse_origin(settings.public_url) if settings.public_url else None
        # behind a proxy the Host header may be an internal name; browsers use the public URL
        self.public_host = None
        if public is not None:
            scheme, host, port = public
            default = 443 if scheme == "https" else 80
            self.public_host = host if port == default else f"{host}:{port}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(scope, MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _add(self, scope: Scope, headers: MutableHeaders) -> None:
        for name, value in COMMON.items():
            headers.setdefault(name, value)
        if scope["path"] in self.skip_csp:
            return
        if headers.get("content-type", "").startswith("text/html"):
            sockets = socket_sources(self.public_host, _request_host(scope))
            headers.setdefault("content-security-policy", PAGE_POLICY.format(sockets=sockets))
            headers.setdefault("x-frame-options", "DENY")
        else:
            headers.setdefault("content-security-policy", RESOURCE_POLICY)


def _request_host(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"host":
            return str(value.decode("latin-1"))
    return None
