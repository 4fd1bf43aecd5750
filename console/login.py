"""Staff sign-in and sign-out: POST /api/staff/login, POST /api/staff/logout, GET /api/staff/me.

Failed sign-ins are counted per account and per client IP with the shared throttle
(storage/throttle.py), the way customer verification counts failures: past the limit every
attempt is refused with 429 and Retry-After, good password or not, until the window has room.
Every refusal of a password is the same 401, whether the email has no account, the account is
disabled or the password is wrong."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bus import announce
from console import accounts, csrf, sessions
from console.auth import Staff
from console.events import SESSION_ENDED
from storage.tables_console import StaffMember
from web.clientip import client_ip, ip_bucket
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff")

BAD_CREDENTIALS = "wrong email or password"


class Credentials(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD_CHARS)


def staff_json(member: StaffMember) -> dict[str, Any]:
    return {"id": member.id, "email": member.email, "name": member.name, "role": member.role}


def _keys(services: Any, request: Request, email: str) -> list[tuple[str, int]]:
    """The throttle keys a sign-in counts against, each with its limit."""
    settings, throttle = services.settings, services.throttle
    ip = client_ip(request, settings.trusted_proxies)
    return [
        (throttle.key("staff-login:account", accounts.normalize_email(email)),
         settings.staff_login_account_limit),
        (throttle.key("staff-login:ip", ip_bucket(ip)), settings.staff_login_ip_limit),
    ]


def _too_many(retry_after: int) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "code": "rate_limited",
                "message": f"Too many failed sign-ins. Try again in {retry_after} seconds.",
                "retry_after": retry_after,
            }
        },
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )


async def _locked(services: Any, keys: list[tuple[str, int]]) -> int:
    """Seconds until sign-in is allowed again, 0 when it is allowed now."""
    throttle, window = services.throttle, services.settings.staff_login_window_s
    wait = 0
    for key, limit in keys:
        if await throttle.count(key, window_s=window) >= limit:
            # a hit over the limit is refused and stored nowhere; it says how long to wait
            verdict = await throttle.hit(key, limit=limit, window_s=window)
            wait = max(wait, verdict.retry_after if not verdict.allowed else 1)
    return wait


@router.post("/login")
async def login(body: Credentials, request: Request, services: ServicesDep) -> Any:
    settings = services.settings
    csrf.require_same_site(request, settings)
    keys = _keys(services, request, body.email)
    wait = await _locked(services, keys)
    if wait:
        return _too_many(wait)
    async with services.sessions.begin() as db:
        member = await accounts.authenticate(db, settings, body.email, body.password)
    if member is None:
        for key, limit in keys:
            await services.throttle.hit(key, limit=limit, window_s=settings.staff_login_window_s)
        raise HTTPException(401, BAD_CREDENTIALS)
    # a good sign-in clears the account's count; the IP's stays (one IP, many accounts)
    await services.throttle.reset(keys[0][0])
    previous = request.cookies.get(sessions.COOKIE)
    if previous:  # signing in again replaces this browser's session, never adds to it
        await sessions.end(services, previous)
    session_id = await sessions.start(services, member)
    response = JSONResponse(
        {"staff": staff_json(member), "csrf_token": csrf.token_for(settings, session_id)}
    )
    sessions.set_cookie(response, request, settings, session_id)
    return response


@router.post("/logout")
async def logout(request: Request, principal: Staff, services: ServicesDep) -> Any:
    """Ends this browser's session (the row is deleted) and clears its cookie."""
    if principal.via != "session":
        raise HTTPException(400, "the bearer token has no session to end")
    await sessions.end(services, request.cookies.get(sessions.COOKIE, ""))
    # this member's open event streams, on any worker, check their session now
    await announce(services.bus, {"type": SESSION_ENDED, "staff_id": principal.id})
    response = JSONResponse({"signed_out": True})
    sessions.clear_cookie(response, request, services.settings)
    return response


@router.get("/me")
async def me(request: Request, principal: Staff, services: ServicesDep) -> Any:
    """Who is signed in, and the CSRF token the page sends back on every change (the cookie
    itself is HttpOnly, so a reloaded page asks here)."""
    if principal.via == "bearer":
        return {
            "staff": {"id": principal.id, "email": None, "name": "", "role": principal.role},
            "via": "bearer",
            "csrf_token": None,
        }
    session_id = request.cookies.get(sessions.COOKIE, "")
    async with services.sessions() as db:
        member = await db.get(StaffMember, principal.id)
    if member is None:
        raise HTTPException(401, "sign in to the staff console")
    return {
        "staff": staff_json(member),
        "via": "session",
        "csrf_token": csrf.token_for(services.settings, session_id),
    }
