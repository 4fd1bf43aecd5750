"""Text that is not valid Unicode: a lone surrogate ("\\ud800") in a JSON body parses into a
str no database or response can encode. Every route with a body answers a clear 400 (it was a
500, from the 422 handler or the database) and changes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import SecretStr
from sqlalchemy import func, select

from helpdesk.connectors.signing import signature_headers
from settings import Settings
from storage.tables import Conversation, Message
from tests.security.served import STAFF_TOKEN, app_client
from web.errors import validation_error
from web.invalid import BAD_TEXT

LONE = '"\\ud800"'  # the JSON escape, as an attacker sends it
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}", "Content-Type": "application/json"}
JSON = {"Content-Type": "application/json"}
WEBHOOK_SECRET = "whsec-input-tests"
BAD_TEXT_ERROR = {"error": {"code": "bad_request", "message": BAD_TEXT}}


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any, triager: Any
) -> Iterator[Any]:
    settings = Settings(
        env="test", data_dir=tmp_path_factory.mktemp("input"), demo=False,
        staff_token=SecretStr(STAFF_TOKEN), helpdesk_webhook_secret=SecretStr(WEBHOOK_SECRET),
    )
    with app_client(settings, embedder, triager) as test_client:
        yield test_client


def count(client: Any, table: Any) -> int:
    async def run() -> int:
        async with client.app.state.services.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(table)))

    return client.portal.call(run)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "body",
    [
        f'{{"text": {LONE}}}',
        f'{{"text": "hi", "client_id": {LONE}}}',
        f'{{"text": 5, "client_id": {LONE}}}',  # invalid as well: was the 422 handler's 500
        f'{{{LONE}: "key, not value"}}',
        f'{{"text": "hi", "extra": [[{{"deep": {LONE}}}]]}}',
    ],
)
def test_chat_post_with_a_lone_surrogate_is_400_and_stores_nothing(client: Any, body: str) -> None:
    before = count(client, Message), count(client, Conversation)
    response = client.post("/api/chat", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json() == BAD_TEXT_ERROR
    assert (count(client, Message), count(client, Conversation)) == before


def test_a_valid_surrogate_pair_is_ordinary_text(client: Any) -> None:
    response = client.post("/api/chat", content='{"text": "hi \\ud83d\\ude00"}', headers=JSON)
    assert response.status_code == 200 and response.json()["reply"]


def test_invalid_body_without_surrogates_is_a_400_in_the_one_error_format(client: Any) -> None:
    response = client.post("/api/chat", content='{"text": 5}', headers=JSON)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request" and error["message"].startswith("body.text: ")


async def test_the_validation_handler_itself_survives_unencodable_input() -> None:
    error = RequestValidationError(
        [{"type": "string_type", "loc": ("body", "\ud800"), "msg": "bad", "input": "a\ud800b"}]
    )
    response = await validation_error(None, error)  # type: ignore[arg-type]
    body = json.loads(response.body)
    assert response.status_code == 400
    # the input is never echoed; the unencodable key is replaced
    assert body == {"error": {"code": "bad_request", "message": "body.\ufffd: bad"}}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/staff/actions/nope/reject", f'{{"note": {LONE}}}'),
        ("/api/staff/actions/nope/approve", f'{{"staff_id": {LONE}}}'),
        ("/api/staff/conversations/nope/reply", f'{{"staff_id": "s", "text": {LONE}}}'),
        ("/api/staff/conversations/nope/claim", f'{{"staff_id": {LONE}}}'),
        ("/api/staff/kb/reindex", f'{{"doc_ids": [{LONE}]}}'),
    ],
)
def test_staff_routes_with_a_lone_surrogate_are_400(client: Any, path: str, body: str) -> None:
    response = client.post(path, content=body, headers=STAFF)
    assert response.status_code == 400 and response.json() == BAD_TEXT_ERROR


def test_signed_webhook_with_a_lone_surrogate_is_400_and_claims_nothing(client: Any) -> None:
    chat = client.post("/api/chat", json={"text": "hello"}).json()
    conversation_id = chat["conversation_id"]
    body = (
        f'{{"event": "staff.reply", "conversation_id": "{conversation_id}", '
        f'"author": "Ana", "body": {LONE}, "comment_id": "c1"}}'
    ).encode()
    headers = {**JSON, **signature_headers(WEBHOOK_SECRET, body, now=time.time())}
    before = count(client, Message)
    response = client.post("/webhooks/generic", content=body, headers=headers)
    assert response.status_code == 400 and response.json() == BAD_TEXT_ERROR
    assert count(client, Message) == before

    async def owner() -> str:
        async with client.app.state.services.sessions() as session:
            return str((await session.get(Conversation, conversation_id)).owner)

    assert client.portal.call(owner) == "bot"


def test_websocket_frame_with_a_lone_surrogate_gets_an_error_frame(client: Any) -> None:
    before = count(client, Message)
    with client.websocket_connect("/ws/chat") as socket:
        socket.send_text(f'{{"type": "message", "text": {LONE}, "client_id": "c1"}}')
        frame = socket.receive_json()
        assert frame["type"] == "error" and frame["code"] == "bad_json"
        socket.send_text('{"type": "ping"}')
        assert socket.receive_json()["type"] == "pong"  # the socket is still usable
    assert count(client, Message) == before
