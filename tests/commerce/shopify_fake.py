"""A fake Shopify Admin GraphQL API for ShopifyStore tests: documented response shapes
(`order_node`, `body`, `orders`), a router by operationName that records the requests it saw,
and the `shop`, `sleeps` and `store` fixtures (import all three where `store` is used)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import httpx
import pytest

from commerce.shopify import ShopifyStore

DOMAIN = "northwind-demo.myshopify.com"
TOKEN = "shpat_test_token"
ORDER_GID = "gid://shopify/Order/5501"
LINE_GID = "gid://shopify/LineItem/901"
FLI_GID = "gid://shopify/FulfillmentLineItem/701"
COST = {
    "requestedQueryCost": 52,
    "actualQueryCost": 12,
    "throttleStatus": {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 1988.0,
        "restoreRate": 100.0,
    },
}


def money(amount: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": "USD"}}


def order_node(**changes: Any) -> dict[str, Any]:
    """An Order as the Admin API returns it for shopify_queries.ORDER_FIELDS."""
    node: dict[str, Any] = {
        "id": ORDER_GID,
        "name": "#1043",
        "email": "Jo.Rivera@example.com",
        "createdAt": "2025-05-20T15:30:00Z",
        "cancelledAt": None,
        "cancelReason": None,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "FULFILLED",
        "currencyCode": "USD",
        "subtotalPriceSet": money("129.00"),
        "totalShippingPriceSet": money("0.00"),
        "totalTaxSet": money("9.35"),
        "totalPriceSet": money("138.35"),
        "totalRefundedSet": money("0.00"),
        "customer": {"id": "gid://shopify/Customer/77"},
        "shippingAddress": {
            "name": "Jo Rivera",
            "firstName": "Jo",
            "lastName": "Rivera",
            "address1": "12 Alder St",
            "address2": None,
            "city": "Portland",
            "provinceCode": "OR",
            "zip": "97205",
            "countryCodeV2": "US",
        },
        "cancellation": None,
        "lineItems": {
            "nodes": [
                {
                    "id": LINE_GID,
                    "title": "Trail Runner",
                    "variantTitle": "9 / Black",
                    "sku": "TR-9-BLK",
                    "quantity": 2,
                    "refundableQuantity": 2,
                    "discountedUnitPriceSet": money("64.50"),
                    "product": {
                        "id": "gid://shopify/Product/31",
                        "productType": "Footwear",
                        "tags": ["running"],
                    },
                }
            ]
        },
        "fulfillments": [
            {
                "id": "gid://shopify/Fulfillment/601",
                "createdAt": "2025-05-21T09:00:00Z",
                "inTransitAt": "2025-05-21T12:00:00Z",
                "deliveredAt": "2025-05-24T14:10:00Z",
                "estimatedDeliveryAt": "2025-05-25T00:00:00Z",
                "displayStatus": "DELIVERED",
                "trackingInfo": [
                    {
                        "company": "UPS",
                        "number": "1Z999AA10123456784",
                        "url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
                    }
                ],
                "fulfillmentLineItems": {
                    "nodes": [
                        {"id": FLI_GID, "quantity": 2, "lineItem": {"id": LINE_GID}},
                    ]
                },
                "events": {
                    "nodes": [
                        {
                            "happenedAt": "2025-05-24T14:10:00Z",
                            "status": "DELIVERED",
                            "message": "Delivered",
                            "city": "Portland",
                            "province": "Oregon",
                        },
                        {
                            "happenedAt": "2025-05-21T12:00:00Z",
                            "status": "IN_TRANSIT",
                            "message": None,
                            "city": None,
                            "province": None,
                        },
                    ]
                },
            }
        ],
        "returns": {"nodes": []},
    }
    node.update(changes)
    return node


UNFULFILLED = {"displayFulfillmentStatus": "UNFULFILLED", "fulfillments": []}


def body(data: dict[str, Any], cost: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"data": data, "extensions": {"cost": cost or COST}}


def orders(*nodes: dict[str, Any]) -> dict[str, Any]:
    return body({"orders": {"nodes": list(nodes)}})


class FakeShopify:
    """A router by operationName. Each reply is used once, except the last one of an
    operation, which keeps answering."""

    def __init__(self) -> None:
        self.replies: dict[str, list[httpx.Response]] = defaultdict(list)
        self.requests: list[httpx.Request] = []

    def on(
        self,
        operation: str,
        payload: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> FakeShopify:
        content = json.dumps(payload).encode() if payload is not None else b""
        self.replies[operation].append(httpx.Response(status, content=content, headers=headers))
        return self

    def sent(self, operation: str | None = None) -> list[dict[str, Any]]:
        bodies = [json.loads(r.content) for r in self.requests]
        return [b for b in bodies if operation is None or b["operationName"] == operation]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        name = json.loads(request.content)["operationName"]
        queue = self.replies[name]
        assert queue, f"unexpected request {name}"
        return queue.pop(0) if len(queue) > 1 else queue[0]


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def shop() -> FakeShopify:
    # asked once, on the first miss: the shop numbers its orders "#" + digits
    return FakeShopify().on("RecentOrderNames", body({"orders": {"nodes": [{"name": "#1042"}]}}))


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def store(shop: FakeShopify, sleeps: Sleeps) -> ShopifyStore:
    client = httpx.AsyncClient(transport=httpx.MockTransport(shop))
    return ShopifyStore(DOMAIN, TOKEN, client, sleep=sleeps, clock=lambda: 1000.0)
