"""Cancellations and shipping address changes on Shopify against httpx.MockTransport: the
orderCancel and orderUpdate mutations, the markers that make a replay send nothing, refusals."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

import pytest

from commerce.models import Address, OrderStatus
from commerce.shopify import ShopifyStore, marker_for
from errors import BackendError
from tests.commerce.shopify_fake import (  # noqa: F401 (fixtures)
    ORDER_GID,
    UNFULFILLED,
    FakeShopify,
    Sleeps,
    body,
    order_node,
    orders,
    shop,
    sleeps,
    store,
)


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
