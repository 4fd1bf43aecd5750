"""Security headers on the pages and files we serve, and the Origin check on /ws/chat and
POST /api/chat: the server's own origin, listed origins and requests without an Origin pass;
any other browser origin gets 403 (a refused WebSocket handshake included)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from settings import Settings
from tests.security.served import STAFF_TOKEN, Served, app_client, serve

LISTED = "https://shop.example"
FOREIGN = "https://evil.example"


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(env="test", data_dir=tmp_path_factory.mktemp("headers"), demo=True,
                    staff_token=SecretStr(STAFF_TOKEN), allowed_origins=[LISTED])


@pytest.fixture(scope="module")
def client(module_settings: Settings, embedder: Any, triager: Any) -> Iterator[Any]:
    with app_client(module_settings, embedder, triager) as test_client:
        yield test_client


def test_storefront_page_has_a_policy_that_lets_only_our_script_and_socket_run(
    client: Any,
) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "text/html"
    )
    parts = response.headers["content-security-policy"].split(";")
    policy = dict(part.strip().split(" ", 1) for part in parts)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval, no other host
    assert policy["connect-src"] == "'self' ws://testserver wss://testserver"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/widget.js", "/widget.css", "/healthz", "/api/staff/actions"])
def test_files_and_json_get_nosniff_and_a_deny_all_policy(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code in (200, 401)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["content-security-policy"] == (
        "default-src 'none'; frame-ancestors 'none'"
    )


def test_a_forged_host_header_adds_nothing_to_the_policy(client: Any) -> None:
    response = client.get("/", headers={"host": "x; script-src *"})
    policy = response.headers["content-security-policy"]
    assert "script-src *" not in policy and "connect-src 'self'; " in policy


def test_guard_answers_carry_the_headers_too(client: Any) -> None:
    refused = client.post("/api/chat", json={"text": "hi"}, headers={"origin": FOREIGN})
    too_big = client.post("/api/chat", content=b"x" * 20_000,
                          headers={"content-type": "application/json"})
    for response in (refused, too_big):
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        (None, 200),  # curl, scripts: no browser credentials to abuse
        ("http://testserver", 200),  # our own page
        (LISTED, 200),
        (FOREIGN, 403),
        ("https://testserver", 403),  # same host, other scheme: another origin
        ("http://testserver:8080", 403),
        ("null", 403),  # sandboxed frames and file:// pages
        ("not a url", 403),
    ],
)
def test_chat_post_checks_the_origin(client: Any, origin: str | None, status: int) -> None:
    headers = {"origin": origin} if origin else {}
    response = client.post("/api/chat", json={"text": "hello"}, headers=headers)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["reply"]
    else:
        assert response.json() == {
            "error": {"code": "forbidden", "message": "This origin may not use the chat."}
        }


def test_other_routes_do_not_check_the_origin(client: Any) -> None:
    assert client.get("/healthz", headers={"origin": FOREIGN}).status_code == 200


def test_star_allows_any_origin_and_public_url_is_our_own(
    module_settings: Settings, embedder: Any, triager: Any
) -> None:
    star = module_settings.model_copy(update={"allowed_origins": ["*"]})
    with app_client(star, embedder, triager) as test_client:
        assert test_client.post("/api/chat", json={"text": "hi"},
                                headers={"origin": FOREIGN}).status_code == 200
    public = module_settings.model_copy(
        update={"allowed_origins": [], "public_url": "https://support.example.com"}
    )
    with app_client(public, embedder, triager) as test_client:
        own = test_client.post("/api/chat", json={"text": "hi"},
                               headers={"origin": "https://support.example.com:443"})
        assert own.status_code == 200
        assert test_client.post("/api/chat", json={"text": "hi"},
                                headers={"origin": LISTED}).status_code == 403
        policy = test_client.get("/").headers["content-security-policy"]
        assert "wss://support.example.com" in policy


# --- the real server: the WebSocket handshake ---------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # the plain comma-separated form an operator writes in an env file
    with serve(tmp_path_factory.mktemp("origin"),
               SUPPORT_ALLOWED_ORIGINS=f"{LISTED}, https://other.example:8443") as server:
        yield server


def ws_url(served: Served) -> str:
    return f"ws://{served.host}:{served.port}/ws/chat"


@pytest.mark.parametrize(
    "origin", [None, "own", LISTED, "https://other.example:8443"], ids=["none", "own", "l1", "l2"]
)
def test_websocket_accepts_own_listed_and_absent_origins(
    served: Served, origin: str | None
) -> None:
    if origin == "own":
        origin = f"http://{served.host}:{served.port}"
    with connect(ws_url(served), origin=origin, open_timeout=30) as socket:  # type: ignore[arg-type]
        socket.send('{"type": "ping"}')
        assert '"pong"' in str(socket.recv(timeout=30))


@pytest.mark.parametrize("origin", [FOREIGN, "https://other.example", "null"])
def test_websocket_handshake_from_a_foreign_origin_is_http_403(served: Served, origin: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(served), origin=origin, open_timeout=30)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403


def test_real_server_chat_post_refuses_a_foreign_origin(served: Served) -> None:
    url = served.base_url + "/api/chat"
    assert httpx.post(url, json={"text": "hi"}, headers={"origin": FOREIGN}).status_code == 403
    ok = httpx.post(url, json={"text": "hi"}, headers={"origin": LISTED}, timeout=60)
    assert ok.status_code == 200 and ok.json()["reply"]
