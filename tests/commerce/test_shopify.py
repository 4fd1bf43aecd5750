"""ShopifyStore reads against httpx.MockTransport: the requests it sends and the mapping of
Shopify's documented response shapes to our models; the settings that build it."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from commerce.backend import StoreBackend
from commerce.models import Address, OrderStatus
from commerce.shopify import ShopifyStore
from commerce.shopify_client import normalize_shop_domain
from settings import Settings

# test_shopify_edits, test_order_numbers, test_catalog_options and test_order_money import these
# names from here: shopify_fake defines them
from tests.commerce.shopify_fake import (  # noqa: F401 (fixtures, names re-exported)
    DOMAIN,
    LINE_GID,
    ORDER_GID,
    TOKEN,
    UNFULFILLED,
    FakeShopify,
    body,
    money,
    order_node,
    orders,
    shop,
    sleeps,
    store,
)


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
