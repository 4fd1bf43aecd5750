"""Staff authentication: `Authorization: Bearer <token>` against SUPPORT_STAFF_TOKEN.

Parsed strictly (RFC 6750): the scheme `Bearer` in any case, exactly one space, then the
token with no whitespace. Anything else, a bare token included, is 401 with
`WWW-Authenticate: Bearer`, so a client that sends the token some other way finds out at once
rather than working by accident against a lax parser.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException

from channels.http import ServicesDep

SCHEME = "bearer"


def bearer_token(authorization: str | None) -> str | None:
    """The token of a well-formed `Bearer <token>` header value, else None."""
    if not authorization:
        return None
    scheme, sep, token = authorization.partition(" ")
    if not sep or scheme.lower() != SCHEME or not token:
        return None
    if any(ch.isspace() for ch in token):  # a second space, a tab, trailing whitespace
        return None
    return token


def token_matches(given: str, expected: str) -> bool:
    """Constant time in the token's content and length: both sides are hashed first, so
    compare_digest always sees two 32-byte strings."""
    if not expected:
        return False
    return hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest(),
        hashlib.sha256(expected.encode("utf-8")).digest(),
    )


def staff_user(services: ServicesDep, authorization: Annotated[str | None, Header()] = None) -> str:
    token = bearer_token(authorization)
    expected = services.settings.staff_token.get_secret_value()
    if token is None or not token_matches(token, expected):
        raise HTTPException(
            401,
            "a valid staff bearer token is required (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return "staff"


StaffUser = Annotated[str, Depends(staff_user)]
