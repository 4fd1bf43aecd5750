"""Staff passwords through the real app: guessing is throttled per account and per IP (the
throttle rows keep no email address), and a hash made with old parameters is replaced at
sign-in."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from settings import Settings
from storage.tables_console import StaffMember, StaffSession
from storage.tables_security import ThrottleHit
from tests.conftest import count_rows, fetch_rows
from tests.console.auth_client import (
    ORIGIN,
    PASSWORD,
    add_member,
    login,
    services,
)
from tests.console.auth_fixtures import app_settings, client  # noqa: F401 (fixtures)

# --- throttled guessing ------------------------------------------------------------------------


def _attempt(client: TestClient, email: str, password: str) -> Any:
    return client.post(
        "/api/staff/login", json={"email": email, "password": password},
        headers={"Origin": ORIGIN},
    )


def test_failures_per_account_lock_that_account(client: TestClient, app_settings: Settings) -> None:
    add_member(client, "a@example.com")
    add_member(client, "b@example.com")
    for _ in range(3):  # staff_login_account_limit
        assert _attempt(client, "a@example.com", "not the password").status_code == 401
    locked = _attempt(client, "a@example.com", PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert locked.json()["error"]["code"] == "rate_limited"
    assert count_rows(app_settings, select(func.count()).select_from(StaffSession)) == 0
    # another account from the same IP is not locked (the IP has 3 of its 6)
    assert _attempt(client, "b@example.com", PASSWORD).status_code == 200
    # the keys keep no email address
    keys = [k for (k,) in fetch_rows(app_settings, select(ThrottleHit.key))]
    assert keys and not any("example.com" in k for k in keys)


def test_failures_per_ip_lock_every_account_from_that_ip(
    client: TestClient, app_settings: Settings
) -> None:
    add_member(client, "a@example.com")
    for n in range(6):  # staff_login_ip_limit, over six different emails
        assert _attempt(client, f"guess{n}@example.com", "not the password").status_code == 401
    locked = _attempt(client, "a@example.com", PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    assert count_rows(app_settings, select(func.count()).select_from(StaffSession)) == 0


def test_a_good_sign_in_clears_the_account_count(client: TestClient) -> None:
    add_member(client, "a@example.com")
    for _ in range(2):
        assert _attempt(client, "a@example.com", "not the password").status_code == 401
    assert _attempt(client, "a@example.com", PASSWORD).status_code == 200
    for _ in range(2):
        assert _attempt(client, "a@example.com", "not the password").status_code == 401
    assert _attempt(client, "a@example.com", PASSWORD).status_code == 200


# --- password hashes -------------------------------------------------------------------------


def test_a_hash_made_with_old_parameters_is_replaced_at_sign_in(
    client: TestClient, app_settings: Settings
) -> None:
    member = add_member(client, "a@example.com")
    (old,) = fetch_rows(app_settings, select(StaffMember.password_hash))[0]
    assert old.startswith("$argon2id$") and ",t=1," in old
    assert PASSWORD not in old
    services(client).settings.staff_password_time_cost = 2
    login(client, "a@example.com")
    (new,) = fetch_rows(
        app_settings, select(StaffMember.password_hash).where(StaffMember.id == member.id)
    )[0]
    assert new != old and ",t=2," in new
    login(client, "a@example.com")  # and the new hash checks

