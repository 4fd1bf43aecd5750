"""The account's saved address through change_default_address: proposed as the verified
customer, saved only after the yes, refused for a bad address or an unverified conversation;
orders keep their own shipping address."""

from __future__ import annotations

import json
from typing import Any

import pytest

from storage import repo
from tests.fakes import NOW
from tests.tools.changes_helpers import _verified, _yes, make_store
from tests.tools.test_tools import call
from tools.changes import change_default_address
from tools.context import SupportContext

ADDRESS = {
    "line1": "123 Elm Street",
    "line2": "Apt 4",
    "city": "Springfield",
    "postal_code": "62704",
    "country": "US",
}


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (ADDRESS, "executed"),
        ({**ADDRESS, "country": "USA"}, "refused"),
        ({**ADDRESS, "city": " "}, "refused"),
    ],
)
async def test_saved_address(args: dict[str, str], expect: str, make_services: Any) -> None:
    store = make_store()
    before = store.customers["c1"]
    services = await make_services(store=store, clock=lambda: NOW)
    ctx = await _verified(services)
    result = await call(change_default_address, ctx, **args)
    if expect == "refused":
        assert result.status == "error" and store.customers["c1"] == before
        return
    summary = json.loads(str(result.content))["summary"]
    assert "123 Elm Street, Apt 4, Springfield 62704, US" in summary
    assert store.customers["c1"] == before
    reply = await _yes(services, ctx)
    assert reply is not None and reply.action.status == "executed"
    saved = store.customers["c1"].default_address
    assert saved is not None and (saved.line1, saved.line2, saved.postal_code) == (
        "123 Elm Street",
        "Apt 4",
        "62704",
    )
    assert store.orders["#1001"].shipping_address.line1 == "1 Main St"  # orders keep theirs


async def test_saved_address_needs_a_verified_customer(make_services: Any) -> None:
    store = make_store()
    services = await make_services(store=store, clock=lambda: NOW)
    async with services.sessions.begin() as session:
        conversation = await repo.create_conversation(session, channel="test")
    ctx = SupportContext(
        conversation_id=conversation.id, channel="test", deps=services.deps, owner_version=0
    )
    result = await call(change_default_address, ctx, **ADDRESS)
    assert result.status == "error" and "Verify" in str(result.content)
