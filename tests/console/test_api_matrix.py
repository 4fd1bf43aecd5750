"""Every /api/staff endpoint against every kind of caller.

The endpoints are read from the app's routes, so one added later joins the matrix by itself.
Each must take the staff principal (console/auth.py); the admin-only ones take the admin
principal. Callers: nobody, an agent's session, an admin's session, an expired session, a
disabled account's session, the bearer token, and a customer's conversation id passed off as a
bearer token and as the session cookie. Session calls send their CSRF token, so what is
measured here is who may call, not CSRF (tests/console/test_auth.py has that)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from console.auth import admin_principal, staff_principal
from settings import Settings
from storage.tables import Conversation, utcnow
from tests.console.auth_client import (
    BEARER,
    Signed,
    add_member,
    expire_all_sessions,
    fast_settings,
    login,
    run,
    services,
    staff_client,
)

PUBLIC = {("POST", "/api/staff/login")}
# what the brief names admin-only; the routes' own dependencies must agree
KNOWN_ADMIN = {
    ("GET", "/api/staff/members"),
    ("POST", "/api/staff/members"),
    ("POST", "/api/staff/members/{staff_id}/disable"),
    ("GET", "/api/staff/settings"),
    ("POST", "/api/staff/kb/documents"),
    ("DELETE", "/api/staff/kb/documents/{doc_id:path}"),
    ("POST", "/api/staff/kb/reindex"),
    ("POST", "/api/staff/outbox/{entry_id}/retry"),
}
# what the brief names open to agents
KNOWN_AGENT = {
    ("GET", "/api/staff/me"),
    ("GET", "/api/staff/actions"),
    ("POST", "/api/staff/actions/{action_id}/approve"),
    ("POST", "/api/staff/conversations/{conversation_id}/claim"),
    ("POST", "/api/staff/conversations/{conversation_id}/reply"),
    ("GET", "/api/staff/kb/documents"),
    ("GET", "/api/staff/unanswered"),
}
# answers the matrix expects exactly for an allowed caller (the ids in the path are unknown)
EXACT = {
    ("GET", "/api/staff/members"): 200,
    ("GET", "/api/staff/settings"): 200,
    ("GET", "/api/staff/actions"): 200,
    ("GET", "/api/staff/unanswered"): 200,
    ("GET", "/api/staff/kb/documents"): 200,
    ("POST", "/api/staff/members/{staff_id}/disable"): 404,
    ("POST", "/api/staff/alerts/{alert_id}/close"): 404,
    ("GET", "/api/staff/attachments/{attachment_id}"): 404,
    ("POST", "/api/staff/conversations/{conversation_id}/claim"): 404,
}
UNKNOWN_ID = "0"  # a valid int and string path value that names nothing


def _depends_on(dependant: Any, call: Any) -> bool:
    return dependant.call is call or any(_depends_on(d, call) for d in dependant.dependencies)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    route: APIRoute

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def admin_only(self) -> bool:
        return _depends_on(self.route.dependant, admin_principal)

    @property
    def streams(self) -> bool:
        """A response that never ends by itself (server-sent events): only refusals are read."""
        name = getattr(self.route.response_class, "__name__", "")
        return "Stream" in name or "EventSource" in name or self.path.endswith("/events")

    def url(self) -> str:
        path = re.sub(r"\{[^}]+\}", UNKNOWN_ID, self.path)
        required = [
            q.alias for q in self.route.dependant.query_params if q.field_info.is_required()
        ]
        return path + ("?" + "&".join(f"{name}=1" for name in required) if required else "")


def staff_endpoints(app: Any) -> list[Endpoint]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not context.path.startswith("/api/staff"):
            continue
        for method in sorted(context.methods or ()):
            if (method, context.path) not in PUBLIC:
                found.append(Endpoint(method, context.path, route))
    # signing out ends the session the rest of a pass uses: it goes last
    return sorted(found, key=lambda e: e.key == ("POST", "/api/staff/logout"))


def call(client: TestClient, endpoint: Endpoint, headers: dict[str, str]) -> int:
    kwargs: dict[str, Any] = {"headers": headers}
    if endpoint.route.dependant.body_params:
        kwargs["json"] = {}
    elif endpoint.method in ("POST", "PUT", "PATCH"):
        kwargs["content"] = b""
    return client.request(endpoint.method, endpoint.url(), **kwargs).status_code


@dataclass
class World:
    client: TestClient
    endpoints: list[Endpoint]
    agent: Signed
    admin: Signed
    expired: Signed
    disabled: Signed
    conversation_id: str


@pytest.fixture
def world(settings: Settings, embedder: Any, triager: Any) -> Iterator[World]:
    with staff_client(fast_settings(settings), embedder, triager, real_knowledge=True) as client:
        add_member(client, "agent@example.com", "agent")
        add_member(client, "admin@example.com", "admin")
        add_member(client, "old@example.com", "admin")
        gone = add_member(client, "gone@example.com", "admin")
        expired = login(client, "old@example.com")
        expire_all_sessions(client, expires_at=utcnow() - timedelta(seconds=1))
        disabled = login(client, "gone@example.com")

        async def disable_without_ending_sessions() -> str:
            # the flag alone must refuse the session, whatever happened to its rows
            async with services(client).sessions.begin() as session:
                member = await session.get(type(gone), gone.id)
                member.disabled_at = utcnow()
                conversation = Conversation(channel="web")
                session.add(conversation)
                await session.flush()
                return conversation.id

        conversation_id = run(client, disable_without_ending_sessions)
        yield World(
            client=client,
            endpoints=staff_endpoints(client.app),
            agent=login(client, "agent@example.com"),
            admin=login(client, "admin@example.com"),
            expired=expired,
            disabled=disabled,
            conversation_id=conversation_id,
        )


def _mismatches(world: World, headers: dict[str, str], expect: Any) -> list[str]:
    wrong = []
    for endpoint in world.endpoints:
        wanted = expect(endpoint)
        if wanted is None:
            continue
        status = call(world.client, endpoint, headers)
        if not wanted(status):
            wrong.append(f"{endpoint.method} {endpoint.path}: {status}")
    return wrong


def _refused(status: int) -> bool:
    return status == 401


def _always_refused(_: Endpoint) -> Any:
    return _refused


def _allowed(endpoint: Endpoint) -> Any:
    if endpoint.streams:
        return None  # an allowed stream never ends; its refusals are checked above
    exact = EXACT.get(endpoint.key)
    if exact is not None:
        return lambda status: status == exact
    return lambda status: status not in (401, 403) and status < 500


def test_the_matrix_knows_every_endpoint_and_each_takes_a_staff_principal(world: World) -> None:
    keys = {e.key for e in world.endpoints}
    assert KNOWN_ADMIN | KNOWN_AGENT <= keys
    unguarded = [
        e.key for e in world.endpoints if not _depends_on(e.route.dependant, staff_principal)
    ]
    assert unguarded == []
    assert {e.key for e in world.endpoints if e.admin_only} >= KNOWN_ADMIN
    assert not {e.key for e in world.endpoints if e.admin_only} & KNOWN_AGENT


def test_no_credentials_are_refused_everywhere(world: World) -> None:
    assert _mismatches(world, {}, _always_refused) == []


@pytest.mark.parametrize("who", ["expired", "disabled"])
def test_dead_sessions_are_refused_everywhere(world: World, who: str) -> None:
    signed: Signed = getattr(world, who)
    assert _mismatches(world, signed.headers(), _always_refused) == []


def test_a_customer_conversation_id_opens_nothing(world: World) -> None:
    cid = world.conversation_id
    for headers in ({"Authorization": f"Bearer {cid}"}, {"Cookie": f"sa_staff={cid}"}):
        assert _mismatches(world, headers, _always_refused) == []


def test_an_agent_session_is_refused_admin_endpoints_only(world: World) -> None:
    def expect(endpoint: Endpoint) -> Any:
        if endpoint.admin_only:
            return lambda status: status == 403
        return _allowed(endpoint)

    assert _mismatches(world, world.agent.headers(), expect) == []


@pytest.mark.parametrize("who", ["admin", "bearer"])
def test_admins_and_the_bearer_token_may_call_everything(world: World, who: str) -> None:
    headers = BEARER if who == "bearer" else world.admin.headers()
    assert _mismatches(world, headers, _allowed) == []
