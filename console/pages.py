"""The staff console's page: /console (one HTML shell) and /console/static/* (its stylesheet and
plain JS modules, no build step). Everything the page shows comes from /api/staff.

The page gets its own Content-Security-Policy, stricter than the storefront's: scripts and styles
only from this host (no inline script, no eval, no style attributes in markup), no frames, no
plugins. The headers middleware keeps a policy a route set itself."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from web.static import static_response

router = APIRouter(include_in_schema=False)

CONSOLE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONSOLE_POLICY,
    "X-Frame-Options": "DENY",
    # the shell names the current assets; it must not be served stale after a release
    "Cache-Control": "no-store",
}
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def static_file(name: str) -> bytes:
    """The bytes of console/static/<name>; FileNotFoundError for anything else (subfolders,
    dot files, names that try to leave the folder)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise FileNotFoundError(name)
    file = resources.files("console").joinpath("static", name)
    if not file.is_file():
        raise FileNotFoundError(name)
    return file.read_bytes()


@router.get("/console")
async def console_page() -> Response:
    return Response(static_file("index.html"), media_type="text/html; charset=utf-8",
                    headers=PAGE_HEADERS)


@router.get("/console/")
async def console_slash() -> Response:
    return RedirectResponse("/console", status_code=308)


@router.get("/console/static/{name}")
async def console_static(name: str, request: Request) -> Response:
    media_type = next((t for ext, t in MEDIA_TYPES.items() if name.endswith(ext)), None)
    if media_type is None:
        raise HTTPException(404, "no such file")
    try:
        body = static_file(name)
    except FileNotFoundError:
        raise HTTPException(404, "no such file") from None
    return static_response(request, body, media_type)
