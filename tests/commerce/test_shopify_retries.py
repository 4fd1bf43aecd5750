"""ShopifyStore's transport against httpx.MockTransport: throttling by the query cost bucket,
retries on 5xx and 429, and which errors are retryable."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

import pytest

from commerce.shopify import ShopifyStore
from errors import BackendError
from tests.commerce.shopify_fake import (  # noqa: F401 (fixtures)
    FakeShopify,
    Sleeps,
    body,
    order_node,
    orders,
    shop,
    sleeps,
    store,
)

THROTTLED = {
    "errors": [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ],
    "extensions": {
        "cost": {
            "requestedQueryCost": 752,
            "actualQueryCost": None,
            "throttleStatus": {
                "maximumAvailable": 1000.0,
                "currentlyAvailable": 666,
                "restoreRate": 50.0,
            },
        }
    },
}


async def test_throttled_then_success_retries_once_after_the_restore_time(
    store: ShopifyStore, shop: FakeShopify, sleeps: Sleeps
) -> None:
    shop.on("FindOrder", THROTTLED).on("FindOrder", orders(order_node()))
    assert await store.find_order("#1043") is not None
    assert len(shop.requests) == 2
    assert sleeps == [pytest.approx((752 - 666) / 50.0)]


async def test_waits_before_a_query_the_bucket_cannot_cover(
    store: ShopifyStore, shop: FakeShopify, sleeps: Sleeps
) -> None:
    low = {
        "requestedQueryCost": 60,
        "actualQueryCost": 40,
        "throttleStatus": {
            "maximumAvailable": 1000.0,
            "currentlyAvailable": 20.0,
            "restoreRate": 50.0,
        },
    }
    shop.on("FindOrder", body({"orders": {"nodes": [order_node()]}}, cost=low))
    await store.find_order("#1043")
    assert sleeps == []  # nothing known yet
    await store.find_order("#1043")
    assert sleeps == [pytest.approx((60 - 20) / 50.0)]  # the clock is frozen: nothing restored


async def test_server_errors_on_a_read_retry_then_give_up_retryable(
    store: ShopifyStore, shop: FakeShopify, sleeps: Sleeps
) -> None:
    shop.on("FindOrder", {"errors": "Internal error"}, status=503)
    with pytest.raises(BackendError) as failed:
        await store.find_order("#1043")
    assert failed.value.retryable is True
    assert len(shop.requests) == 5 and sleeps == [1.0, 2.0, 4.0, 8.0]


async def test_a_5xx_then_success(store: ShopifyStore, shop: FakeShopify, sleeps: Sleeps) -> None:
    shop.on("FindOrder", status=502).on("FindOrder", orders(order_node()))
    assert await store.find_order("#1043") is not None
    assert sleeps == [1.0]


async def test_429_honours_retry_after(
    store: ShopifyStore, shop: FakeShopify, sleeps: Sleeps
) -> None:
    shop.on(
        "FindOrder",
        {"errors": "Exceeded 2 calls per second"},
        status=429,
        headers={"Retry-After": "2.0"},
    ).on("FindOrder", orders(order_node()))
    assert await store.find_order("#1043") is not None
    assert sleeps == [2.0]


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures_are_not_retryable(
    store: ShopifyStore, shop: FakeShopify, status: int
) -> None:
    shop.on("FindOrder", {"errors": "[API] Invalid API key or access token"}, status=status)
    with pytest.raises(BackendError, match="access token") as failed:
        await store.find_order("#1043")
    assert failed.value.retryable is False and len(shop.requests) == 1


async def test_graphql_errors_are_not_retryable(store: ShopifyStore, shop: FakeShopify) -> None:
    shop.on(
        "FindOrder",
        {
            "errors": [
                {
                    "message": "Field 'bogus' doesn't exist on type 'Order'",
                    "extensions": {"code": "undefinedField"},
                }
            ]
        },
    )
    with pytest.raises(BackendError, match="bogus") as failed:
        await store.find_order("#1043")
    assert failed.value.retryable is False


async def test_ping(store: ShopifyStore, shop: FakeShopify) -> None:
    shop.on("Ping", body({"shop": {"name": "Northwind"}}))
    assert await store.ping() is True
    shop.replies["Ping"] = []
    shop.on("Ping", status=401)
    assert await store.ping() is False
