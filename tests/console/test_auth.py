"""Staff sign-in through the real app: the session cookie and its row, sign-out, expiry, disabled
accounts. Every check reads the database rows, not only the status code. CSRF, throttling and
the admin endpoints have their own test_auth_* modules."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from settings import Settings
from storage.tables import utcnow
from storage.tables_console import StaffMember, StaffSession
from tests.conftest import count_rows, fetch_rows
from tests.console.auth_client import (
    BEARER,
    ORIGIN,
    PASSWORD,
    add_member,
    expire_all_sessions,
    login,
    run,
    services,
    staff_client,
)
from tests.console.auth_fixtures import app_settings, client  # noqa: F401 (fixtures)


def _sessions_of(settings: Settings, staff_id: str) -> int:
    return count_rows(
        settings, select(func.count()).select_from(StaffSession).where(
            StaffSession.staff_id == staff_id
        )
    )


# --- sign-in, the cookie and the session row ------------------------------------------------


def test_login_sets_an_httponly_cookie_and_keeps_only_a_digest(
    client: TestClient, app_settings: Settings
) -> None:
    member = add_member(client, "Agent@Example.com", "agent")
    response = client.post(
        "/api/staff/login",
        json={"email": " agent@example.COM ", "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["staff"] == {
        "id": member.id, "email": "agent@example.com", "name": "", "role": "agent"
    }
    cookie = response.headers["set-cookie"]
    session_id = response.cookies["sa_staff"]
    assert cookie.startswith(f"sa_staff={session_id};")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags  # plain http, no https public URL
    assert len(session_id) >= 40

    rows = fetch_rows(app_settings, select(StaffSession.id_hash, StaffSession.staff_id))
    assert rows == [(hashlib.sha256(session_id.encode()).hexdigest(), member.id)]
    assert session_id not in repr(rows)

    client.cookies.clear()
    me = client.get("/api/staff/me", headers={"Cookie": f"sa_staff={session_id}"})
    assert me.status_code == 200
    assert me.json()["staff"]["id"] == member.id and me.json()["via"] == "session"
    assert me.json()["csrf_token"] == body["csrf_token"]


def test_cookie_is_secure_when_the_public_url_is_https(
    app_settings: Settings, embedder: Any, triager: Any
) -> None:
    secure = app_settings.model_copy(update={"public_url": "https://support.example.com"})
    with staff_client(secure, embedder, triager) as client:
        add_member(client, "a@example.com")
        response = client.post(
            "/api/staff/login",
            json={"email": "a@example.com", "password": PASSWORD},
            headers={"Origin": "https://support.example.com"},
        )
    assert response.status_code == 200
    flags = {p.strip().lower() for p in response.headers["set-cookie"].split(";")}
    assert "secure" in flags


def test_cookie_is_secure_on_an_https_request(
    app_settings: Settings, embedder: Any, triager: Any
) -> None:
    with staff_client(app_settings, embedder, triager) as client:
        add_member(client, "a@example.com")
        client.base_url = "https://testserver"  # type: ignore[assignment]
        response = client.post(
            "/api/staff/login",
            json={"email": "a@example.com", "password": PASSWORD},
            headers={"Origin": "https://testserver"},
        )
    assert response.status_code == 200
    assert "secure" in {p.strip().lower() for p in response.headers["set-cookie"].split(";")}


def test_unknown_email_and_wrong_password_get_one_answer_and_one_hash_check(
    client: TestClient, app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    add_member(client, "known@example.com")
    checks: list[str] = []
    real_verify = PasswordHasher.verify

    def counting(self: PasswordHasher, hashed: str, password: str) -> bool:
        checks.append(hashed)
        return real_verify(self, hashed, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    answers = []
    for email, password in [
        ("known@example.com", "wrong password here"),
        ("nobody@example.com", "wrong password here"),
        ("nobody@example.com", PASSWORD),
    ]:
        response = client.post(
            "/api/staff/login", json={"email": email, "password": password},
            headers={"Origin": ORIGIN},
        )
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 401
    assert len(checks) == 3  # the unknown email is checked against a dummy hash too
    assert count_rows(app_settings, select(func.count()).select_from(StaffSession)) == 0
    assert "set-cookie" not in response.headers


def test_login_from_another_site_is_refused(client: TestClient, app_settings: Settings) -> None:
    add_member(client, "a@example.com")
    response = client.post(
        "/api/staff/login",
        json={"email": "a@example.com", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert count_rows(app_settings, select(func.count()).select_from(StaffSession)) == 0


# --- the end of a session ---------------------------------------------------------------------


def test_logout_deletes_the_session_and_clears_the_cookie(
    client: TestClient, app_settings: Settings
) -> None:
    member = add_member(client, "a@example.com")
    signed = login(client, "a@example.com")
    other = login(client, "a@example.com")  # a second browser stays signed in
    assert _sessions_of(app_settings, member.id) == 2

    refused = client.post("/api/staff/logout", headers=signed.headers(csrf=False))
    assert refused.status_code == 403 and _sessions_of(app_settings, member.id) == 2

    response = client.post("/api/staff/logout", headers=signed.headers())
    assert response.status_code == 200
    cleared = response.headers["set-cookie"].lower()
    assert cleared.startswith('sa_staff="";') or "max-age=0" in cleared
    assert _sessions_of(app_settings, member.id) == 1
    assert client.get("/api/staff/me", headers=signed.headers()).status_code == 401
    assert client.get("/api/staff/me", headers=other.headers()).status_code == 200


def test_signing_in_again_replaces_the_browsers_session(
    client: TestClient, app_settings: Settings
) -> None:
    member = add_member(client, "a@example.com")
    first = login(client, "a@example.com")
    response = client.post(
        "/api/staff/login",
        json={"email": "a@example.com", "password": PASSWORD},
        headers={"Origin": ORIGIN, "Cookie": f"sa_staff={first.session_id}"},
    )
    assert response.status_code == 200
    assert response.cookies["sa_staff"] != first.session_id
    client.cookies.clear()
    assert _sessions_of(app_settings, member.id) == 1
    assert client.get("/api/staff/me", headers=first.headers()).status_code == 401


@pytest.mark.parametrize("which", ["absolute", "idle"])
def test_an_expired_session_is_refused_and_deleted(
    client: TestClient, app_settings: Settings, which: str
) -> None:
    member = add_member(client, "a@example.com")
    signed = login(client, "a@example.com")
    past = utcnow() - timedelta(seconds=1)
    if which == "absolute":
        expire_all_sessions(client, expires_at=past)
    else:
        expire_all_sessions(client, last_seen_at=past - timedelta(seconds=600))
    assert client.get("/api/staff/me", headers=signed.headers()).status_code == 401
    assert _sessions_of(app_settings, member.id) == 0


def test_a_live_session_is_kept_alive_by_use(client: TestClient, app_settings: Settings) -> None:
    add_member(client, "a@example.com")
    signed = login(client, "a@example.com")
    # last used 500 s ago: inside the 600 s idle limit, so it works and counts as used now
    expire_all_sessions(client, last_seen_at=utcnow() - timedelta(seconds=500))
    assert client.get("/api/staff/me", headers=signed.headers()).status_code == 200
    (seen,) = fetch_rows(app_settings, select(StaffSession.last_seen_at))[0]
    seen = seen if seen.tzinfo else seen.replace(tzinfo=utcnow().tzinfo)
    assert utcnow() - seen < timedelta(seconds=300)


def test_disabling_an_account_ends_its_sessions_at_once(
    client: TestClient, app_settings: Settings
) -> None:
    member = add_member(client, "a@example.com")
    signed = login(client, "a@example.com")
    response = client.post(f"/api/staff/members/{member.id}/disable", headers=BEARER)
    assert response.status_code == 200 and response.json()["disabled"] is True
    assert _sessions_of(app_settings, member.id) == 0
    assert client.get("/api/staff/me", headers=signed.headers()).status_code == 401
    again = client.post(
        "/api/staff/login", json={"email": "a@example.com", "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert again.status_code == 401

    # a session row that outlived the disabling (another worker wrote it) is refused too
    from console import sessions

    async def start() -> str:
        svc = services(client)
        async with svc.sessions() as db:
            found = await db.get(StaffMember, member.id)
        return await sessions.start(svc, found)

    session_id = run(client, start)
    assert _sessions_of(app_settings, member.id) == 1
    me = client.get("/api/staff/me", headers={"Cookie": f"sa_staff={session_id}"})
    assert me.status_code == 401
    assert _sessions_of(app_settings, member.id) == 0


def test_a_wrong_bearer_token_is_refused_even_beside_a_good_cookie(client: TestClient) -> None:
    add_member(client, "a@example.com")
    signed = login(client, "a@example.com")
    headers = {**signed.headers(), "Authorization": "Bearer not-the-token"}
    assert client.get("/api/staff/me", headers=headers).status_code == 401

