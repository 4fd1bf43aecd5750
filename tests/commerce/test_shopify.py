"""ShopifyStore against httpx.MockTransport: the requests it sends, the mapping of Shopify's
documented response shapes to our models, throttling, retries and error mapping."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from commerce.backend import StoreBackend
from commerce.models import Address, OrderStatus, Resolution, ReturnLine
from commerce.shopify import ShopifyStore, marker_for
from commerce.shopify_client import normalize_shop_domain
from errors import BackendError
from settings import Settings

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


def test_is_a_store_backend(store: ShopifyStore) -> None:
    assert isinstance(store, StoreBackend) and store.name == "shopify"


# --- reads and mapping -----------------------------------------------------------------------


async def test_find_order_request_and_mapping(store: ShopifyStore, shop: FakeShopify) -> None:
    shop.on("FindOrder", orders(order_node()))
    order = await store.find_order("order 1043")

    request = shop.requests[0]
    assert request.method == "POST"
    assert request.url == f"https://{DOMAIN}/admin/api/2025-10/graphql.json"
    assert request.headers["X-Shopify-Access-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    sent = shop.sent()[0]
    assert sent["variables"] == {"query": "name:#1043"}
    assert "orders(first: 1, query: $query)" in sent["query"]

    assert order is not None
    assert (order.id, order.number, order.email) == (ORDER_GID, "#1043", "jo.rivera@example.com")
    assert order.customer_id == "gid://shopify/Customer/77"
    assert order.status is OrderStatus.DELIVERED
    assert (order.subtotal, order.tax, order.total) == (
        Decimal("129.00"),
        Decimal("9.35"),
        Decimal("138.35"),
    )
    assert order.shipping_address == Address(
        name="Jo Rivera",
        line1="12 Alder St",
        city="Portland",
        region="OR",
        postal_code="97205",
        country="US",
    )
    item = order.line_items[0]
    assert (item.id, item.sku, item.name, item.variant_title) == (
        LINE_GID,
        "TR-9-BLK",
        "Trail Runner",
        "9 / Black",
    )
    assert (item.quantity, item.unit_price, item.category) == (2, Decimal("64.50"), "footwear")
    shipment = order.shipments[0]
    assert (shipment.carrier, shipment.tracking_number) == ("UPS", "1Z999AA10123456784")
    assert shipment.tracking_url and shipment.tracking_number in shipment.tracking_url
    assert shipment.status == "delivered" and shipment.line_item_ids == [LINE_GID]
    assert shipment.delivered_at == datetime(2025, 5, 24, 14, 10, tzinfo=UTC)
    assert shipment.shipped_at == datetime(2025, 5, 21, 12, tzinfo=UTC)
    assert [e.status for e in shipment.events] == ["in_transit", "delivered"]
    assert shipment.events[1].location == "Portland, Oregon"
    assert order.delivered_at == shipment.delivered_at


async def test_find_order_unknown_or_garbage(store: ShopifyStore, shop: FakeShopify) -> None:
    shop.on("FindOrder", orders(order_node(name="#10430")))  # a search hit that is not #1043
    # on a miss the shop's formats are learned once: "#" + digits here, so nothing else to try
    assert await store.find_order("#1043") is None
    assert len(shop.sent("FindOrder")) == 1 and len(shop.sent("RecentOrderNames")) == 1
    assert await store.find_order("not an order") is None
    assert len(shop.requests) == 2  # garbage never reaches Shopify


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({**UNFULFILLED}, OrderStatus.PAID),
        ({**UNFULFILLED, "displayFinancialStatus": "PENDING"}, OrderStatus.PENDING_PAYMENT),
        ({"displayFulfillmentStatus": "PARTIALLY_FULFILLED"}, OrderStatus.PARTIALLY_SHIPPED),
        (
            {"cancelledAt": "2025-05-20T16:00:00Z", "cancelReason": "CUSTOMER", **UNFULFILLED},
            OrderStatus.CANCELLED,
        ),
        ({"displayFinancialStatus": "PARTIALLY_REFUNDED"}, OrderStatus.PARTIALLY_REFUNDED),
        ({"displayFinancialStatus": "REFUNDED"}, OrderStatus.RETURNED),
    ],
)
async def test_order_status_mapping(
    store: ShopifyStore, shop: FakeShopify, changes: dict[str, Any], status: OrderStatus
) -> None:
    shop.on("FindOrder", orders(order_node(**changes)))
    order = await store.find_order("#1043")
    assert order is not None and order.status is status


async def test_in_transit_fulfillment_is_shipped(store: ShopifyStore, shop: FakeShopify) -> None:
    node = order_node()
    node["fulfillments"][0].update(deliveredAt=None, displayStatus="IN_TRANSIT")
    shop.on("FindOrder", orders(node))
    order = await store.find_order("#1043")
    assert order is not None and order.status is OrderStatus.SHIPPED
    assert order.shipments[0].status == "in_transit" and order.delivered_at is None


async def test_list_orders_by_email_and_status(store: ShopifyStore, shop: FakeShopify) -> None:
    shop.on("ListOrders", orders(order_node(), order_node(name="#1044", **UNFULFILLED)))
    found = await store.list_orders(email=" Jo.Rivera@Example.com ", status=OrderStatus.PAID)
    assert [o.number for o in found] == ["#1044"]
    sent = shop.sent("ListOrders")[0]
    assert sent["variables"] == {"first": 50, "query": 'email:"jo.rivera@example.com"'}
    assert "sortKey: CREATED_AT, reverse: true" in sent["query"]


async def test_customer_and_product(store: ShopifyStore, shop: FakeShopify) -> None:
    shop.on(
        "GetCustomer",
        body(
            {
                "customer": {
                    "id": "gid://shopify/Customer/77",
                    "firstName": "Jo",
                    "lastName": "Rivera",
                    "createdAt": "2024-11-02T10:00:00Z",
                    "tags": ["VIP"],
                    "defaultEmailAddress": {"emailAddress": "Jo.Rivera@example.com"},
                    "defaultPhoneNumber": {"phoneNumber": "+15035550142"},
                    "defaultAddress": order_node()["shippingAddress"],
                }
            }
        ),
    )
    shop.on(
        "GetProduct",
        body(
            {
                "product": {
                    "id": "gid://shopify/Product/31",
                    "title": "Gift Card",
                    "productType": "Gift Cards",
                    "description": "",
                    "tags": ["Final-Sale"],
                    "variants": {
                        "nodes": [
                            {
                                "sku": "GC-50",
                                "title": "$50",
                                "price": "50.00",
                                "inventoryQuantity": 7,
                            }
                        ]
                    },
                }
            }
        ),
    )
    customer = await store.get_customer("77")
    assert customer is not None and customer.email == "jo.rivera@example.com"
    assert customer.tags == ["VIP"] and customer.default_address is not None
    assert shop.sent("GetCustomer")[0]["variables"] == {"id": "gid://shopify/Customer/77"}
    product = await store.get_product("gid://shopify/Product/31")
    assert product is not None and product.final_sale and product.category == "gift cards"
    assert product.variants[0].price == Decimal("50.00") and product.variants[0].stock == 7


# --- throttling, retries, errors -------------------------------------------------------------

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


# --- returns ---------------------------------------------------------------------------------

LINES = [ReturnLine(line_item_id=LINE_GID, quantity=1)]


async def start_return(store: ShopifyStore, key: str = "key-1", **changes: Any) -> Any:
    args: dict[str, Any] = {
        "order_number": "#1043",
        "lines": LINES,
        "reason": "damaged",
        "resolution": Resolution.REFUND,
        "refund_amount": Decimal("64.50"),
        "restocking_fee": Decimal("0.00"),
        "idempotency_key": key,
    }
    return await store.create_return(**{**args, **changes})


def created(name: str = "#1043-R1") -> dict[str, Any]:
    return body(
        {
            "returnCreate": {
                "return": {
                    "id": "gid://shopify/Return/881",
                    "name": name,
                    "status": "OPEN",
                    "createdAt": "2025-06-01T10:00:00Z",
                },
                "userErrors": [],
            }
        }
    )


def with_return(note: str, quantity: int = 1, status: str = "OPEN") -> dict[str, Any]:
    return order_node(
        returns={
            "nodes": [
                {
                    "id": "gid://shopify/Return/881",
                    "name": "#1043-R1",
                    "status": status,
                    "createdAt": "2025-06-01T10:00:00Z",
                    "returnLineItems": {
                        "nodes": [
                            {
                                "quantity": quantity,
                                "returnReason": "DEFECTIVE",
                                "returnReasonNote": note,
                                "fulfillmentLineItem": {
                                    "id": FLI_GID,
                                    "lineItem": {"id": LINE_GID},
                                },
                            }
                        ]
                    },
                }
            ]
        }
    )


async def test_create_return_sends_return_create(store: ShopifyStore, shop: FakeShopify) -> None:
    shop.on("FindOrder", orders(order_node())).on("ReturnCreate", created())
    record = await start_return(store)

    sent = shop.sent("ReturnCreate")[0]
    assert "returnCreate(returnInput: $returnInput)" in sent["query"]
    line = sent["variables"]["returnInput"]["returnLineItems"][0]
    assert sent["variables"]["returnInput"]["orderId"] == ORDER_GID
    assert (line["fulfillmentLineItemId"], line["quantity"], line["returnReason"]) == (
        FLI_GID,
        1,
        "DEFECTIVE",
    )
    assert marker_for("key-1") in line["returnReasonNote"]
    assert "restockingFee" not in line

    assert (record.rma, record.status, record.order_number) == ("#1043-R1", "open", "#1043")
    assert record.refund_amount == Decimal("64.50") and record.lines == LINES
    assert "#1043-R1" in record.instructions and "tags" in record.instructions


async def test_create_return_replays_from_the_marker(
    store: ShopifyStore, shop: FakeShopify
) -> None:
    shop.on("FindOrder", orders(order_node())).on("ReturnCreate", created())
    first = await start_return(store)
    note = shop.sent("ReturnCreate")[0]["variables"]["returnInput"]["returnLineItems"][0][
        "returnReasonNote"
    ]
    shop.replies["FindOrder"] = []
    shop.on("FindOrder", orders(with_return(note)))
    again = await start_return(store)
    assert len(shop.sent("ReturnCreate")) == 1
    assert again.model_dump(exclude={"created_at"}) == first.model_dump(exclude={"created_at"})
    assert await store.list_returns(order_number="#1043") == [
        again.model_copy(update={"idempotency_key": ""})
    ]


async def test_an_ambiguous_failure_is_not_resent_blindly(
    store: ShopifyStore, shop: FakeShopify, sleeps: Sleeps
) -> None:
    """The mutation times out with a 502 but landed: the retry finds the marker instead."""
    note = "support-agent {} damaged refund refund=64.50 fee=0.00".format(marker_for("key-1"))
    shop.on("FindOrder", orders(order_node()))  # check
    shop.on("FindOrder", orders(order_node()))  # apply
    shop.on("FindOrder", orders(with_return(note)))  # check after the failure
    shop.on("ReturnCreate", status=502)
    record = await start_return(store)
    assert len(shop.sent("ReturnCreate")) == 1 and sleeps == [1.0]
    assert record.rma == "#1043-R1" and record.reason == "damaged"


async def test_user_errors_become_backend_errors(store: ShopifyStore, shop: FakeShopify) -> None:
    shop.on("FindOrder", orders(order_node()))
    shop.on(
        "ReturnCreate",
        body(
            {
                "returnCreate": {
                    "return": None,
                    "userErrors": [
                        {
                            "field": ["returnInput", "returnLineItems", "0", "quantity"],
                            "message": "Quantity is not available for return",
                        }
                    ],
                }
            }
        ),
    )
    with pytest.raises(BackendError, match="Quantity is not available") as failed:
        await start_return(store)
    assert failed.value.retryable is False


async def test_quantity_already_returned_is_refused_before_any_mutation(
    store: ShopifyStore, shop: FakeShopify
) -> None:
    shop.on("FindOrder", orders(with_return("returned in store", quantity=2)))
    with pytest.raises(BackendError, match="only 0 of Trail Runner"):
        await start_return(store)
    assert shop.sent("ReturnCreate") == []
    order = await store.find_order("#1043")
    assert order is not None and order.line_items[0].returned_quantity == 2


async def test_restocking_fee_is_sent_as_a_percentage(
    store: ShopifyStore, shop: FakeShopify
) -> None:
    shop.on("FindOrder", orders(order_node())).on("ReturnCreate", created())
    await start_return(store, refund_amount=Decimal("58.05"), restocking_fee=Decimal("6.45"))
    line = shop.sent("ReturnCreate")[0]["variables"]["returnInput"]["returnLineItems"][0]
    assert line["restockingFee"] == {"percentage": 10.0}


# --- cancellations and address changes -------------------------------------------------------


async def test_cancel_sends_order_cancel_and_waits_for_the_job(
    store: ShopifyStore, shop: FakeShopify, sleeps: Sleeps
) -> None:
    cancelled = order_node(
        **UNFULFILLED,
        cancelledAt="2025-06-01T10:00:00Z",
        cancelReason="CUSTOMER",
        cancellation={"staffNote": f"x [support-agent {marker_for('c-1')}]"},
    )
    shop.on("FindOrder", orders(order_node(**UNFULFILLED)))  # check
    shop.on("FindOrder", orders(order_node(**UNFULFILLED)))  # apply
    shop.on("FindOrder", orders(cancelled))
    shop.on(
        "OrderCancel",
        body(
            {
                "orderCancel": {
                    "job": {"id": "gid://shopify/Job/1", "done": False},
                    "orderCancelUserErrors": [],
                }
            }
        ),
    )
    shop.on("Job", body({"job": {"id": "gid://shopify/Job/1", "done": True}}))

    order = await store.cancel_order(
        order_number="#1043", reason="Ordered the wrong size", idempotency_key="c-1"
    )
    assert order.status is OrderStatus.CANCELLED and order.cancel_reason == "customer"
    variables = shop.sent("OrderCancel")[0]["variables"]
    assert variables["orderId"] == ORDER_GID and variables["reason"] == "CUSTOMER"
    assert variables["refundMethod"] == {"originalPaymentMethodsRefund": True}
    assert variables["restock"] is True and marker_for("c-1") in variables["staffNote"]
    assert sleeps == [0.5]

    # The same key again: found by its marker, nothing sent. Another key: refused.
    again = await store.cancel_order(order_number="#1043", reason="x", idempotency_key="c-1")
    assert again == order and len(shop.sent("OrderCancel")) == 1
    with pytest.raises(BackendError, match="already cancelled"):
        await store.cancel_order(order_number="#1043", reason="x", idempotency_key="c-2")


async def test_cancel_refuses_a_fulfilled_order(store: ShopifyStore, shop: FakeShopify) -> None:
    shop.on("FindOrder", orders(order_node()))
    with pytest.raises(BackendError, match="already shipped"):
        await store.cancel_order(order_number="#1043", reason="x", idempotency_key="c-1")
    assert shop.sent("OrderCancel") == []


NEW = Address(
    name="Jo Ann Rivera",
    line1="1 Elm St",
    line2="Apt 2",
    city="Portland",
    region="OR",
    postal_code="97209",
    country="US",
)


async def test_address_change_sends_order_update_with_a_marker(
    store: ShopifyStore, shop: FakeShopify
) -> None:
    updated = order_node(**UNFULFILLED)
    updated["shippingAddress"] = {
        "name": "Jo Ann Rivera",
        "firstName": "Jo Ann",
        "lastName": "Rivera",
        "address1": "1 Elm St",
        "address2": "Apt 2",
        "city": "Portland",
        "provinceCode": "OR",
        "zip": "97209",
        "countryCodeV2": "US",
    }
    shop.on("FindOrder", orders(order_node(**UNFULFILLED)))
    shop.on("OrderMarker", body({"order": {"id": ORDER_GID, "metafield": None}}))
    shop.on("OrderUpdate", body({"orderUpdate": {"order": updated, "userErrors": []}}))

    order = await store.update_shipping_address(
        order_number="#1043", address=NEW, idempotency_key="a-1"
    )
    assert order.shipping_address == NEW
    sent = shop.sent("OrderUpdate")[0]["variables"]["input"]
    assert sent["id"] == ORDER_GID
    assert sent["shippingAddress"] == {
        "firstName": "Jo Ann",
        "lastName": "Rivera",
        "address1": "1 Elm St",
        "address2": "Apt 2",
        "city": "Portland",
        "provinceCode": "OR",
        "zip": "97209",
        "countryCode": "US",
    }
    key = "idem_" + marker_for("a-1").removeprefix("sa-")
    assert sent["metafields"][0]["namespace"] == "support_agent"
    assert sent["metafields"][0]["key"] == key
    assert shop.sent("OrderMarker")[0]["variables"] == {"id": ORDER_GID, "key": key}

    shop.replies["OrderMarker"] = []
    shop.on("OrderMarker", body({"order": {"id": ORDER_GID, "metafield": {"value": "a-1"}}}))
    await store.update_shipping_address(order_number="#1043", address=NEW, idempotency_key="a-1")
    assert len(shop.sent("OrderUpdate")) == 1


async def test_address_change_refuses_a_shipped_order(
    store: ShopifyStore, shop: FakeShopify
) -> None:
    shop.on("FindOrder", orders(order_node()))
    shop.on("OrderMarker", body({"order": {"id": ORDER_GID, "metafield": None}}))
    with pytest.raises(BackendError, match="already shipped"):
        await store.update_shipping_address(
            order_number="#1043", address=NEW, idempotency_key="a-1"
        )
    assert shop.sent("OrderUpdate") == []


async def test_unknown_order_is_refused(store: ShopifyStore, shop: FakeShopify) -> None:
    shop.on("FindOrder", orders())
    with pytest.raises(BackendError, match="does not exist"):
        await store.cancel_order(order_number="#9999", reason="x", idempotency_key="c")


# --- settings --------------------------------------------------------------------------------


def test_settings_need_domain_and_token_for_shopify(tmp_path: Any) -> None:
    with pytest.raises(ValidationError, match="SUPPORT_SHOPIFY_DOMAIN"):
        Settings(env="test", data_dir=tmp_path, store_backend="shopify")
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        store_backend="shopify",
        shopify_domain="https://northwind-demo.myshopify.com/",
        shopify_access_token=SecretStr(TOKEN),
    )
    store = ShopifyStore.from_settings(settings)
    assert store.api.url == f"https://{DOMAIN}/admin/api/2025-10/graphql.json"
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    "given", ["northwind-demo", "northwind-demo.myshopify.com", f"https://{DOMAIN}/admin"]
)
def test_normalize_shop_domain(given: str) -> None:
    assert normalize_shop_domain(given) == DOMAIN


def test_order_node_fixture_is_not_shared() -> None:
    a = order_node()
    b = copy.deepcopy(a)
    a["lineItems"]["nodes"][0]["quantity"] = 9
    assert order_node() == b


async def test_a_return_spanning_two_fulfillments(store: ShopifyStore, shop: FakeShopify) -> None:
    node = order_node()
    second = copy.deepcopy(node["fulfillments"][0])
    second["id"] = "gid://shopify/Fulfillment/602"
    second["fulfillmentLineItems"]["nodes"] = [
        {"id": "gid://shopify/FulfillmentLineItem/702", "quantity": 1, "lineItem": {"id": LINE_GID}}
    ]
    node["fulfillments"][0]["fulfillmentLineItems"]["nodes"][0]["quantity"] = 1
    node["fulfillments"].append(second)
    shop.on("FindOrder", orders(node)).on("ReturnCreate", created())
    await start_return(
        store,
        lines=[ReturnLine(line_item_id=LINE_GID, quantity=2)],
        refund_amount=Decimal("129.00"),
        resolution=Resolution.STORE_CREDIT,
    )
    sent = shop.sent("ReturnCreate")[0]["variables"]["returnInput"]["returnLineItems"]
    assert [(x["fulfillmentLineItemId"], x["quantity"]) for x in sent] == [
        (FLI_GID, 1),
        ("gid://shopify/FulfillmentLineItem/702", 1),
    ]


async def test_list_returns_for_a_customer(store: ShopifyStore, shop: FakeShopify) -> None:
    shop.on("ListOrders", orders(with_return("opened in Shopify admin")))
    [record] = await store.list_returns(customer_id="gid://shopify/Customer/77")
    assert shop.sent("ListOrders")[0]["variables"]["query"] == 'customer_id:"77"'
    assert (record.rma, record.status, record.reason) == ("#1043-R1", "open", "defective")
    assert record.refund_amount == Decimal("64.50")  # not ours: the items' value
    assert record.lines == [ReturnLine(line_item_id=LINE_GID, quantity=1)]


async def test_outstanding_balance_is_the_amount_due(
    store: ShopifyStore, shop: FakeShopify
) -> None:
    """After an edit that cost more, Shopify's invoice collects the balance: the order's
    `amount_due`, beside (not inside) what was refunded."""
    shop.on("FindOrder", orders(order_node(totalOutstandingSet=money("2.16"))))
    order = await store.find_order("#1043")
    assert order is not None
    assert (order.amount_due, order.refunded_amount) == (Decimal("2.16"), Decimal("0.00"))
    assert "totalOutstandingSet" in shop.sent("FindOrder")[-1]["query"]
