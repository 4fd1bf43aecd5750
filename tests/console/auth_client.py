"""The app over the tiny store with staff accounts, for the sign-in, CSRF and API-matrix tests.

Accounts are made through the running app's own services (`client.portal`), so the same code
serves SQLite and PostgreSQL; argon2 runs at its smallest cost to keep the tests quick."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from server import create_app
from services import build_services
from settings import Settings
from tests.fakes import CannedKnowledge, MemoryStore

BEARER = {"Authorization": "Bearer dev-staff-token"}
ORIGIN = "http://testserver"  # the TestClient's own origin
PASSWORD = "correct horse battery staple"


def fast_settings(settings: Settings, **extra: Any) -> Settings:
    return settings.model_copy(
        update={"staff_password_time_cost": 1, "staff_password_memory_kib": 64, **extra}
    )


@contextmanager
def staff_client(
    settings: Settings, embedder: Any, triager: Any, *, real_knowledge: bool = False
) -> Iterator[TestClient]:
    """`real_knowledge`: the product's knowledge base (an empty Chroma in the data dir), for
    the help-center endpoints; otherwise the canned one."""

    async def build() -> Any:
        extra = {} if real_knowledge else {"knowledge": CannedKnowledge()}
        return await build_services(
            settings, embedder=embedder, triager=triager, store=MemoryStore(), **extra
        )

    with TestClient(create_app(settings, build=build)) as client:
        yield client


def services(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def run(client: TestClient, fn: Any, *args: Any) -> Any:
    """Runs `await fn(*args)` in the app's own event loop (its engine and pools live there)."""
    assert client.portal is not None
    return client.portal.call(fn, *args)


def add_member(
    client: TestClient, email: str, role: str = "agent", password: str = PASSWORD
) -> Any:
    from console import accounts

    async def work() -> Any:
        svc = services(client)
        async with svc.sessions.begin() as session:
            return await accounts.create(
                session, svc.settings, email=email, role=role, password=password
            )

    return run(client, work)


def sql(client: TestClient, statement: Any) -> None:
    """A write straight to the database (an expired session, a disabled flag)."""

    async def work() -> None:
        async with services(client).sessions.begin() as session:
            await session.execute(statement)

    run(client, work)


def expire_all_sessions(client: TestClient, **values: Any) -> None:
    from storage.tables_console import StaffSession

    sql(client, update(StaffSession).values(**values))


@dataclass(frozen=True)
class Signed:
    """A signed-in browser: the cookie's value and the CSRF token the page holds."""

    session_id: str
    csrf: str
    staff: dict[str, Any]

    def headers(self, *, csrf: bool = True, origin: str | None = ORIGIN) -> dict[str, str]:
        found = {"Cookie": f"sa_staff={self.session_id}"}
        if csrf:
            found["X-CSRF-Token"] = self.csrf
        if origin is not None:
            found["Origin"] = origin
        return found


def login(client: TestClient, email: str, password: str = PASSWORD) -> Signed:
    response = client.post(
        "/api/staff/login", json={"email": email, "password": password}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 200, response.text
    session_id = response.cookies["sa_staff"]
    client.cookies.clear()  # each test says which browser a request comes from
    body = response.json()
    return Signed(session_id, body["csrf_token"], body["staff"])
