"""Staff authentication: a signed-in staff member's session cookie (console/sessions.py), or
`Authorization: Bearer <token>` against SUPPORT_STAFF_TOKEN for automation.

The bearer header is parsed strictly (RFC 6750): the scheme `Bearer` in any case, exactly one
space, then the token with no whitespace. Anything else, a bare token included, is 401 with
`WWW-Authenticate: Bearer`, so a client that sends the token some other way finds out at once
rather than working by accident against a lax parser.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from console import csrf, sessions
from web.deps import ServicesDep

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


# --- The contract the console is built on (issue #16) -------------------------------------------
# Every staff endpoint takes `Staff` (any signed-in staff member, or the bearer token) or
# `AdminStaff` (admins only; the bearer token counts as admin, it is the operator's key).
# A session call takes the staff member from the session and refuses a body `staff_id` (422);
# a bearer call keeps the body's `staff_id`. `acting_staff_id` applies that rule in one place.
# With an Authorization header the bearer token decides alone (a wrong one is 401 even beside
# a good cookie); without one, the `sa_staff` session cookie, and for a state-changing method
# its CSRF token and a same-site origin (console/csrf.py).


@dataclass(frozen=True)
class StaffPrincipal:
    id: str  # the staff member's id (a session) or the body's staff_id / "staff" (bearer)
    email: str | None
    role: str  # "agent" | "admin"
    via: str  # "session" | "bearer"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


async def staff_principal(
    request: Request,
    services: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
) -> StaffPrincipal:
    if authorization is not None:
        staff_user(services, authorization)
        return StaffPrincipal(id="staff", email=None, role="admin", via="bearer")
    signed_in = await sessions.resolve(services, request.cookies.get(sessions.COOKIE))
    if signed_in is None:
        raise HTTPException(
            401,
            "sign in to the staff console, or send the staff bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if request.method not in csrf.SAFE_METHODS:
        csrf.require_token(request, services.settings, signed_in.session_id)
    member = signed_in.member
    return StaffPrincipal(id=member.id, email=member.email, role=member.role, via="session")


def admin_principal(
    principal: Annotated[StaffPrincipal, Depends(staff_principal)],
) -> StaffPrincipal:
    if not principal.is_admin:
        raise HTTPException(403, "this needs an admin account")
    return principal


Staff = Annotated[StaffPrincipal, Depends(staff_principal)]
AdminStaff = Annotated[StaffPrincipal, Depends(admin_principal)]


def acting_staff_id(principal: StaffPrincipal, body_staff_id: str | None) -> str:
    """Who acts: the session's staff member (a body staff_id is refused), or for the bearer
    token the body's staff_id (default "staff")."""
    if principal.via == "session":
        if body_staff_id:
            raise HTTPException(422, "staff_id is taken from your session; do not send it")
        return principal.id
    return body_staff_id or "staff"
