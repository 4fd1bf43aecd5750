"""One error format across the HTTP API (docs/protocol.md): every route of the OpenAPI schema,
sent a malformed request, answers `{"error": {"code", "message"}}` and nothing else; a route
with a JSON body model answers 400 bad_request (never FastAPI's 422 `{"detail": ...}`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from settings import Settings
from tests.channels.widget_client import STAFF, widget_client


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    with widget_client(settings.model_copy(update={"api_docs": True}), embedder, triager) as c:
        yield c


def assert_error_format(response: Any, where: str) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, f"{where}: {response.status_code} {response.text}"
    body = response.json()
    assert set(body) == {"error"}, f"{where}: {body}"
    assert set(body["error"]) <= {"code", "message", "retry_after"}, f"{where}: {body}"
    assert isinstance(body["error"]["code"], str) and body["error"]["code"], where
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], where
    return body["error"]  # type: ignore[no-any-return]


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            found.append((method.upper(), path, operation))
    return found


def test_every_route_answers_malformed_input_in_the_one_format(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    walked = json_bodies = 0
    for method, path, operation in operations(schema):
        url = path.replace("{", "").replace("}", "")  # path parameters get their own names
        body = operation.get("requestBody", {}).get("content", {})
        params = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        wants_int = [p["name"] for p in params if p["schema"].get("type") == "integer"]
        if not body and not wants_int:
            continue  # nothing a client could get malformed beyond the path
        walked += 1
        query = dict.fromkeys(wants_int, "not-a-number")
        headers = {**STAFF, "Content-Type": "application/json"}
        response = client.request(method, url, params=query, content=b"[1, 2", headers=headers)
        error = assert_error_format(response, f"{method} {path}")
        if "application/json" in body or wants_int:
            json_bodies += 1
            assert response.status_code == 400, f"{method} {path}: {response.status_code}"
            assert error["code"] == "bad_request", f"{method} {path}"
        # well-formed JSON of the wrong shape (a list where every route expects an object)
        response = client.request(method, url, params=query, json=[1], headers=STAFF)
        assert_error_format(response, f"{method} {path} (wrong shape)")
    assert walked >= 10 and json_bodies >= 8  # the walk covered the API, not an empty schema


def test_fastapis_own_answers_use_the_format_too(client: TestClient) -> None:
    assert assert_error_format(client.get("/no/such/route"), "404")["code"] == "not_found"
    assert assert_error_format(client.delete("/api/chat"), "405")["code"] == "method_not_allowed"
    unauthorised = client.get("/api/staff/queue")
    assert unauthorised.status_code == 401
    assert assert_error_format(unauthorised, "401")["code"] == "unauthorized"
    missing = client.post("/api/chat", json={})
    error = assert_error_format(missing, "missing text")
    assert missing.status_code == 400 and error == {
        "code": "bad_request",
        "message": "body.text: Field required",
    }
