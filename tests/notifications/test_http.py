"""The HTTP side: POST /webhooks/shopify (HMAC, delivery-id dedup, duplicate and out-of-order
deliveries -> one notice), the signed opt-out pages, the staff counts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select

from console.webhooks import router as webhooks_router
from notifications.http import router as notifications_router
from notifications.optout import email_hash, optout_url
from storage.tables_notify import Notification, NotificationOptOut, ShopifyDelivery
from tests.notifications.conftest import Env
from tests.notifications.test_runner import at_local, rows

SECRET = "shpss_0123456789abcdef"


def signed(payload: dict[str, Any], topic: str, webhook_id: str, secret: str = SECRET) -> dict:
    body = json.dumps(payload).encode()
    mac = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "content": body,
        "headers": {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": mac,
            "X-Shopify-Webhook-Id": webhook_id,
        },
    }


@pytest.fixture
async def client(notify_env: Env) -> AsyncIterator[httpx.AsyncClient]:
    notify_env.settings = notify_env.settings.model_copy(
        update={"shopify_webhook_secret": SecretStr(SECRET)}
    )
    notify_env.runner._settings = notify_env.settings
    app = FastAPI()
    app.include_router(webhooks_router)
    app.include_router(notifications_router)
    app.state.services = SimpleNamespace(
        settings=notify_env.settings,
        sessions=notify_env.sessions,
        deps=SimpleNamespace(clock=notify_env.clock),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def count(env: Env, table: Any) -> int:
    async with env.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_bad_signature_is_401_and_changes_nothing(
    notify_env: Env, client: httpx.AsyncClient
) -> None:
    forged = signed({"name": "#1001.1"}, "fulfillments/create", "w-1", secret="not-the-secret")
    response = await client.post("/webhooks/shopify", **forged)
    assert response.status_code == 401
    unsigned = signed({"name": "#1001.1"}, "fulfillments/create", "w-1")
    del unsigned["headers"]["X-Shopify-Hmac-Sha256"]
    assert (await client.post("/webhooks/shopify", **unsigned)).status_code == 401
    tampered = signed({"name": "#1001.1"}, "fulfillments/create", "w-1")
    tampered["content"] = tampered["content"].replace(b"1001", b"1002")
    assert (await client.post("/webhooks/shopify", **tampered)).status_code == 401
    assert await count(notify_env, Notification) == 0
    assert await count(notify_env, ShopifyDelivery) == 0


async def test_duplicate_and_out_of_order_webhooks_give_one_notice(
    notify_env: Env, client: httpx.AsyncClient
) -> None:
    env = notify_env
    await env.run()
    at_local(env, 2, 10)
    await env.advance("#1001", "shipped")  # the store knows the facts; webhooks bring news
    await env.advance("#1001", "delivered")
    delivered = signed(
        {"name": "#1001.1", "shipment_status": "delivered"}, "fulfillments/update", "w-9"
    )
    first = await client.post("/webhooks/shopify", **delivered)
    assert first.json() == {"events": ["delivered"], "recorded": 1}
    retry = await client.post("/webhooks/shopify", **delivered)  # Shopify retries: same id
    assert retry.status_code == 200 and retry.json() == {"duplicate": True}
    again = signed(
        {"name": "#1001.1", "shipment_status": "delivered"}, "fulfillments/update", "w-10"
    )
    assert (await client.post("/webhooks/shopify", **again)).json()["recorded"] == 0
    late = [  # the earlier news arrives after the delivery
        signed({"name": "#1001.1"}, "fulfillments/create", "w-1"),
        signed({"name": "#1001.1", "shipment_status": "in_transit"}, "fulfillments/update", "w-2"),
    ]
    for call in late:
        assert (await client.post("/webhooks/shopify", **call)).status_code == 200
    report = await env.run()
    assert [(s.order, s.event) for s in report.sent] == [("#1001", "delivered")]
    # the webhooks' rows name no shipment: completed from the store they meet the poll's rows
    # for the same news (skipped as duplicate), or are superseded, or their rule is off
    found = await rows(env)
    assert [r for r in found if r[2] != "skipped"] == [("#1001", "delivered", "sent", "")]
    assert {(event, reason) for _, event, _, reason in found if reason} == {
        ("delivered", "duplicate"),
        ("shipped", "duplicate"),
        ("shipped", "superseded"),
        ("in_transit", "rule_off"),
    }
    await env.deliver()
    assert env.sink is not None and len(env.sink.sent) == 1
    body = env.sink.sent[0].message.get_body(("plain",)).get_content()
    assert "30 days" in body  # how to start a return: the store policy's window


async def test_the_opt_out_link_confirms_then_records(
    notify_env: Env, client: httpx.AsyncClient
) -> None:
    url = optout_url("ada@example.com", notify_env.settings)
    path = url.removeprefix("https://help.shop.test")
    page = await client.get(path)
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert await count(notify_env, NotificationOptOut) == 0  # a GET (a mail scanner) is no opt-out
    done = await client.post(path, content=b"List-Unsubscribe=One-Click")  # RFC 8058
    assert done.status_code == 200 and "unsubscribed" in done.text
    assert await count(notify_env, NotificationOptOut) == 1
    again = await client.post(path)
    assert again.status_code == 200 and await count(notify_env, NotificationOptOut) == 1
    async with notify_env.sessions() as session:
        stored = await session.scalar(select(NotificationOptOut.email_hash))
    assert stored == email_hash("ada@example.com", notify_env.settings)  # no address kept


@pytest.mark.parametrize("change", ["token", "digest", "missing"])
async def test_a_changed_opt_out_link_is_refused(
    notify_env: Env, client: httpx.AsyncClient, change: str
) -> None:
    url = optout_url("ada@example.com", notify_env.settings)
    path = url.removeprefix("https://help.shop.test")
    digest = path.split("h=")[1].split("&")[0]
    if change == "token":
        last = path[-1]
        path = path[:-1] + ("0" if last != "0" else "1")
    elif change == "digest":
        other = email_hash("eve@example.com", notify_env.settings)
        path = path.replace(digest, other)
    else:
        path = path.split("&t=")[0]
    assert (await client.post(path)).status_code == 400
    assert await count(notify_env, NotificationOptOut) == 0


async def test_staff_see_the_counts(notify_env: Env, client: httpx.AsyncClient) -> None:
    env = notify_env
    await env.run()
    assert (await client.get("/api/staff/notifications/stats")).status_code == 401
    at_local(env, 2, 10)
    path = optout_url("chloe@example.fr", env.settings).removeprefix("https://help.shop.test")
    await client.post(path)
    await env.advance("#1001", "shipped")
    await env.advance("#1002", "shipped")
    await env.advance("#1001", "in_transit")
    await env.run()
    token = env.settings.staff_token.get_secret_value()
    response = await client.get(
        "/api/staff/notifications/stats", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.json() == {
        "sent": 1,
        "skipped": {"opted_out": 1, "rule_off": 1},
        "pending": {},
        "opted_out": 1,
        "skipped_opted_out": 1,
    }
