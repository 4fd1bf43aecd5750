"""Staff accounts: create, list, disable, change a password, and check one at sign-in.

Passwords are hashed with argon2id (argon2-cffi's PasswordHasher, cost from the settings). A
stored hash made with other parameters is replaced by a fresh one at the next good sign-in.
An unknown or disabled account costs the same hash check as a known one, so the time a
sign-in takes does not tell which emails have accounts. Disabling an account or changing its
password ends all of its sessions in the same transaction."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import utcnow
from storage.tables_console import StaffMember, StaffRole, StaffSession

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # hashing a megabyte is a cheap way to burn our CPU


class AccountError(ValueError):
    """A request about accounts that cannot be met (the message says why, for the operator)."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def hasher(settings: Any) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.staff_password_time_cost,
        memory_cost=settings.staff_password_memory_kib,
        parallelism=1,
    )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"the password may be at most {MAX_PASSWORD_CHARS} characters")


def _check_email(email: str) -> str:
    email = normalize_email(email)
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or any(ch.isspace() for ch in email):
        raise AccountError(f"not an email address: {email!r}")
    if len(email) > 320:
        raise AccountError("the email address is too long")
    return email


def member_json(member: StaffMember) -> dict[str, Any]:
    return {
        "id": member.id,
        "email": member.email,
        "name": member.name,
        "role": member.role,
        "disabled": member.disabled_at is not None,
        "created_at": member.created_at.isoformat(),
    }


async def hash_password(settings: Any, password: str) -> str:
    check_password(password)
    return await asyncio.to_thread(hasher(settings).hash, password)


async def find(session: AsyncSession, email_or_id: str) -> StaffMember | None:
    email = normalize_email(email_or_id)
    found = await session.scalar(select(StaffMember).where(StaffMember.email == email))
    return found or await session.get(StaffMember, email_or_id)


async def create(
    session: AsyncSession, settings: Any, *, email: str, role: str, password: str, name: str = ""
) -> StaffMember:
    if role not in StaffRole.ALL:
        raise AccountError(f"the role must be one of {', '.join(StaffRole.ALL)}")
    email = _check_email(email)
    if await session.scalar(select(StaffMember.id).where(StaffMember.email == email)):
        raise AccountError(f"there is already an account for {email}")
    member = StaffMember(
        email=email,
        role=role,
        name=name.strip()[:200],
        password_hash=await hash_password(settings, password),
    )
    session.add(member)
    await session.flush()
    return member


async def list_members(session: AsyncSession) -> list[StaffMember]:
    return list((await session.scalars(select(StaffMember).order_by(StaffMember.email))).all())


async def end_sessions(session: AsyncSession, staff_id: str) -> int:
    result = await session.execute(delete(StaffSession).where(StaffSession.staff_id == staff_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def disable(session: AsyncSession, email_or_id: str) -> StaffMember:
    member = await find(session, email_or_id)
    if member is None:
        raise AccountError(f"no staff account {email_or_id!r}")
    if member.disabled_at is None:
        member.disabled_at = utcnow()
    await end_sessions(session, member.id)
    return member


async def set_password(
    session: AsyncSession, settings: Any, email_or_id: str, password: str
) -> StaffMember:
    member = await find(session, email_or_id)
    if member is None:
        raise AccountError(f"no staff account {email_or_id!r}")
    member.password_hash = await hash_password(settings, password)
    await end_sessions(session, member.id)
    return member


@dataclass
class _Dummy:
    """A hash to check when there is no account, made once per cost setting."""

    params: tuple[int, int] = (0, 0)
    value: str = ""


_dummy = _Dummy()


def _verify(settings: Any, stored: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, a new hash when the stored one was made with other parameters)."""
    ph = hasher(settings)
    if stored is None:
        params = (settings.staff_password_time_cost, settings.staff_password_memory_kib)
        if _dummy.params != params:
            _dummy.value, _dummy.params = ph.hash("not a password of anyone's"), params
        stored = _dummy.value
        try:
            ph.verify(stored, password)
        except VerificationError:
            pass
        return False, None
    try:
        ph.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    return True, (ph.hash(password) if ph.check_needs_rehash(stored) else None)


async def authenticate(
    session: AsyncSession, settings: Any, email: str, password: str
) -> StaffMember | None:
    """The active account with this email and password, else None (one answer for an unknown
    email, a disabled account and a wrong password). Rehashes an outdated hash in `session`."""
    password = password[:MAX_PASSWORD_CHARS]
    member = await session.scalar(
        select(StaffMember).where(StaffMember.email == normalize_email(email))
    )
    usable = member is not None and member.disabled_at is None
    stored = member.password_hash if usable and member is not None else None
    ok, rehashed = await asyncio.to_thread(_verify, settings, stored, password)
    if not ok or member is None:
        return None
    if rehashed is not None:
        member.password_hash = rehashed
    return member


DEMO_ADMIN_EMAIL = "admin@demo.example"
DEMO_ADMIN_FILE = "console-admin.txt"


async def ensure_demo_admin(session: AsyncSession, settings: Any) -> str | None:
    """The demo's first start: with no staff account at all, an admin with a random password,
    written to `<data dir>/console-admin.txt` (owner-only) so the console can be tried at once.
    Returns the password when it made the account; never touches a store that has accounts."""
    if await session.scalar(select(StaffMember.id).limit(1)) is not None:
        return None
    password = secrets.token_urlsafe(12)
    await create(
        session, settings, email=DEMO_ADMIN_EMAIL, role=StaffRole.ADMIN, password=password,
        name="Demo admin",
    )
    path = Path(settings.data_dir) / DEMO_ADMIN_FILE
    path.write_text(f"{DEMO_ADMIN_EMAIL}\n{password}\n", encoding="utf-8")
    path.chmod(0o600)
    return password
