"""What `server.create_app` applies to the app: API docs only when asked for, the app-wide
input check, the error handlers and the guards in front of every route."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from settings import Settings
from web.errors import http_error, validation_error
from web.headers import SecurityHeaders
from web.invalid import refuse_lone_surrogates, unicode_error
from web.limits import BodyLimit
from web.origin import OriginGuard


def app_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `FastAPI(...)`: /docs, /redoc and /openapi.json exist only with
    SUPPORT_API_DOCS=true (the schema maps every staff route for an attacker)."""
    docs = settings.api_docs
    return {
        "docs_url": "/docs" if docs else None,
        "redoc_url": "/redoc" if docs else None,
        "openapi_url": "/openapi.json" if docs else None,
        "dependencies": [Depends(refuse_lone_surrogates)],
    }


def harden(app: FastAPI, settings: Settings) -> None:
    """Error handlers (one format: web/errors.py) and the ASGI guards. The last added runs
    first: headers go on every answer, the 413 and 403 ones included, and a body is measured
    before anything reads it."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(UnicodeError, unicode_error)
    app.add_middleware(OriginGuard, settings=settings)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(SecurityHeaders, settings=settings)
