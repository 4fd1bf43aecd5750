"""Admin-only staff endpoints: the staff accounts (list, add, disable) and the server's settings,
read-only with every secret masked."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, SecretStr

from bus import announce
from console import accounts
from console.auth import AdminStaff
from console.events import SESSION_ENDED
from storage.tables_console import StaffRole
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff")

MASK = "********"
# names that hold a secret even when typed as a plain string
_SECRET_WORDS = ("secret", "token", "password", "api_key", "signing_key")


class NewMember(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    role: str = Field(pattern=f"^({'|'.join(StaffRole.ALL)})$")
    name: str = Field(default="", max_length=200)
    password: str = Field(
        min_length=accounts.MIN_PASSWORD_CHARS, max_length=accounts.MAX_PASSWORD_CHARS
    )


@router.get("/members")
async def members(services: ServicesDep, _: AdminStaff) -> Any:
    async with services.sessions() as db:
        return [accounts.member_json(m) for m in await accounts.list_members(db)]


@router.post("/members", status_code=201)
async def add_member(body: NewMember, services: ServicesDep, _: AdminStaff) -> Any:
    try:
        async with services.sessions.begin() as db:
            member = await accounts.create(
                db,
                services.settings,
                email=body.email,
                role=body.role,
                password=body.password,
                name=body.name,
            )
    except accounts.AccountError as exc:
        raise HTTPException(409 if "already" in str(exc) else 422, str(exc)) from exc
    return accounts.member_json(member)


@router.post("/members/{staff_id}/disable")
async def disable_member(staff_id: str, services: ServicesDep, _: AdminStaff) -> Any:
    """Disables the account and ends its sessions at once."""
    async with services.sessions.begin() as db:
        member = await db.get(accounts.StaffMember, staff_id)
        if member is None:
            raise HTTPException(404, "no such staff member")
        await accounts.disable(db, member.id)
    await announce(services.bus, {"type": SESSION_ENDED, "staff_id": member.id})
    return accounts.member_json(member)


def _mask_url(value: str) -> str:
    """A URL with its password (postgresql://user:pw@host, redis://:pw@host) masked."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return MASK
    if parts.password is None:
        return value
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def masked_settings(settings: Any) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        secret_name = any(word in name for word in _SECRET_WORDS)
        if isinstance(value, SecretStr) or (secret_name and isinstance(value, str)):
            shown[name] = MASK if value else None
        elif isinstance(value, str) and "://" in value:
            shown[name] = _mask_url(value)
        elif isinstance(value, str | int | float | bool) or value is None:
            shown[name] = value  # openai_max_tokens is a number, not a token
        elif isinstance(value, dict):
            shown[name] = {str(k): v for k, v in value.items()}
        elif isinstance(value, list | tuple):
            shown[name] = [str(v) for v in value]
        else:
            shown[name] = str(value)
    return shown


@router.get("/settings")
async def settings(services: ServicesDep, _: AdminStaff) -> Any:
    """The running configuration, read-only; change it in the environment and restart."""
    return masked_settings(services.settings)
