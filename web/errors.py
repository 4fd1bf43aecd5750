"""One error format for the whole HTTP API: `{"error": {"code", "message"}}` (docs/protocol.md).

FastAPI's own answers are converted here: a request that fails validation (FastAPI's 422
`{"detail": [...]}`) is `400 bad_request` with the first problem spelled out, and every
HTTPException keeps its status and gets a code named after it. Guards that answer before the
app runs (body limit, origin) build the same body with `error_body`."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_type",
    429: "rate_limited",
    503: "unavailable",
}
MAX_PROBLEMS = 5


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def code_for(status: int) -> str:
    return CODES.get(status, "internal" if status >= 500 else "bad_request")


def describe(errors: list[dict[str, Any]]) -> str:
    """'body.text: Field required; query.limit: Input should be a valid integer'. Never echoes
    the input itself (it may be large, or text that cannot be encoded)."""
    parts = []
    for problem in errors[:MAX_PROBLEMS]:
        where = ".".join(str(p) for p in problem.get("loc", ()))
        parts.append(f"{where}: {problem.get('msg', 'invalid')}" if where else problem["msg"])
    more = len(errors) - MAX_PROBLEMS
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    from web.invalid import scrub

    errors = scrub([{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()])
    return error_response(400, "bad_request", describe(errors) or "The request is not valid.")


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "The request was refused."
    return error_response(exc.status_code, code_for(exc.status_code), message, headers=exc.headers)
