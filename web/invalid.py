"""Invalid request input answered with a clear 400, never a 500 (format: web/errors.py).

JSON may carry a lone surrogate ("\\ud800"): Python parses it into a str that cannot be encoded
as UTF-8, so it fails later wherever the text is written, in the database or in FastAPI's own
validation error, which would echo the input. Parsed JSON bodies are checked before any handler
runs, the validation handler never echoes input, and any Unicode error a raw-body route still
meets becomes a 400.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection

from web.errors import error_body

# json.loads joins a valid pair into one code point, so any surrogate left is a lone one
_SURROGATE = re.compile("[\ud800-\udfff]")
# a JSON escape of a surrogate code point; only bodies that contain one are parsed to check
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
log = logging.getLogger(__name__)
BAD_TEXT = "The request contains text that is not valid Unicode (a lone surrogate)."


def has_lone_surrogate(value: Any, depth: int = 0) -> bool:
    """True if any string in a parsed JSON value (keys included) cannot be encoded as UTF-8."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if depth > 64:  # no route's model reads this deep, so text down here is never stored
        return False
    if isinstance(value, dict):
        return any(
            has_lone_surrogate(k, depth + 1) or has_lone_surrogate(v, depth + 1)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(has_lone_surrogate(item, depth + 1) for item in value)
    return False


def raw_json_has_lone_surrogate(body: bytes) -> bool:
    """For routes that read a raw body and parse it themselves (the webhooks). A body that is
    not JSON is left to the route's own parser to refuse."""
    if not _ESCAPED_SURROGATE.search(body):
        return False
    try:
        return has_lone_surrogate(json.loads(body))
    except (ValueError, RecursionError):
        return False


async def refuse_lone_surrogates(connection: HTTPConnection) -> None:
    """App-wide dependency. FastAPI parses a JSON body (and caches it on the request) before
    dependencies run and before it validates the body, so this sees every JSON body first."""
    if not isinstance(connection, Request):
        return
    parsed = getattr(connection, "_json", None)
    if parsed is not None and has_lone_surrogate(parsed):
        raise HTTPException(400, BAD_TEXT)


def scrub(value: Any) -> Any:
    """A JSON-ready value with unencodable characters replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


async def unicode_error(_: Request, exc: Exception) -> JSONResponse:
    """Raw-body routes (webhooks, uploads) that decode or store text they did not validate."""
    assert isinstance(exc, UnicodeError)
    # logged: if our own text ever fails to encode, this is where it shows
    log.warning("request refused on a Unicode error: %s", type(exc).__name__)
    return JSONResponse(error_body("bad_request", BAD_TEXT), status_code=400)
