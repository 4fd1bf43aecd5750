"""Static assets (widget.js, widget.css, the favicon): gzip when the client accepts it, a strong
ETag so a page load revalidates with a 304 instead of fetching again, and a Cache-Control that
lets browsers and CDNs keep the file for a few minutes. A store embeds /widget.js at a fixed URL,
so the file may not be cached for long: a new release has to reach shoppers the same day."""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache

from fastapi import Request
from fastapi.responses import Response

CACHE_CONTROL = "public, max-age=300"
MIN_GZIP_BYTES = 512  # below this gzip's header costs more than it saves

# a 32x32 speech bubble in the widget's default colour; served as /favicon.ico (browsers read
# the Content-Type, not the extension)
FAVICON_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<rect width="32" height="32" rx="7" fill="#1d4ed8"/>'
    b'<path d="M8 9h16a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-9l-5 4v-4H8a2 2 0 0 1-2-2v-8a2 2 0 0 1 '
    b'2-2z" fill="#fff"/></svg>'
)


@lru_cache(maxsize=16)
def _prepared(body: bytes) -> tuple[str, bytes]:
    """The ETag and the gzipped bytes of a body (assets are built once; cached by content)."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return etag, gzip.compress(body, compresslevel=9, mtime=0)


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match", "")
    if header.strip() == "*":
        return True
    # a weak validator matches too (a proxy that re-compressed the body marks it W/)
    return etag in (t.strip().removeprefix("W/") for t in header.split(","))


def static_response(request: Request, body: bytes, media_type: str) -> Response:
    etag, zipped = _prepared(body)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if _matches(request, etag):
        return Response(status_code=304, headers=headers)
    if len(body) >= MIN_GZIP_BYTES and _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        return Response(zipped, media_type=media_type, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
