"""Order edits and the saved address on Shopify, against httpx.MockTransport: the order-editing
session it sends (begin, set quantity / add variant, commit), the state check that makes a
replay send nothing, and the refusals."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

from decimal import Decimal
from typing import Any

from commerce.edits import EditAction, OrderEdit
from commerce.models import Address
from commerce.shopify import ShopifyStore
from tests.commerce.test_shopify import (  # noqa: F401 (fixtures)
    LINE_GID,
    ORDER_GID,
    UNFULFILLED,
    FakeShopify,
    body,
    order_node,
    orders,
    shop,
    sleeps,
    store,
)

SWAP = OrderEdit(
    line_item_id=LINE_GID,
    action=EditAction.SWAP_VARIANT,
    from_sku="TR-9-BLK",
    from_quantity=2,
    new_sku="TR-10-BLK",
    new_variant_title="10 / Black",
    new_unit_price=Decimal("64.50"),
)


def state(sku: str, quantity: int, total: str = "138.35") -> Any:
    left = quantity if sku == "TR-9-BLK" else 0
    nodes = [{"id": LINE_GID, "sku": "TR-9-BLK", "currentQuantity": left}]
    if sku != "TR-9-BLK":
        nodes.append({"id": "gid://shopify/LineItem/902", "sku": sku, "currentQuantity": quantity})
    return body(
        {
            "order": {
                "id": ORDER_GID,
                "name": "#1043",
                "displayFulfillmentStatus": "UNFULFILLED",
                "cancelledAt": None,
                "totalPriceSet": {"shopMoney": {"amount": total}},
                "lineItems": {"nodes": nodes},
            }
        }
    )


def ok(name: str, extra: dict[str, Any] | None = None) -> Any:
    return body({name: {**(extra or {}), "userErrors": []}})


async def test_a_swap_is_one_editing_session_and_a_replay_sends_nothing(
    store: ShopifyStore, shop: FakeShopify
) -> None:
    shop.on("FindOrder", orders(order_node(**UNFULFILLED)))
    shop.on("EditState", state("TR-9-BLK", 2))  # before: not landed
    shop.on("EditState", state("TR-10-BLK", 2))  # after the commit
    calc_line = "gid://shopify/CalculatedLineItem/901"
    shop.on(
        "OrderEditBegin",
        ok(
            "orderEditBegin",
            {
                "calculatedOrder": {
                    "id": "gid://shopify/CalculatedOrder/7",
                    "lineItems": {"nodes": [{"id": calc_line, "sku": "TR-9-BLK", "quantity": 2}]},
                }
            },
        ),
    )
    shop.on("OrderEditSetQuantity", ok("orderEditSetQuantity", {"calculatedOrder": {"id": "c"}}))
    shop.on(
        "VariantBySku",
        body(
            {
                "productVariants": {
                    "nodes": [{"id": "gid://shopify/ProductVariant/55", "sku": "TR-10-BLK"}]
                }
            }
        ),
    )
    shop.on("OrderEditAddVariant", ok("orderEditAddVariant", {"calculatedLineItem": {"id": "x"}}))
    shop.on("OrderEditCommit", ok("orderEditCommit", {"order": {"id": ORDER_GID}}))

    order = await store.edit_order(
        order_number="#1043", edits=[SWAP], expected_total=Decimal("138.35"), idempotency_key="e-1"
    )
    set_qty = shop.sent("OrderEditSetQuantity")[0]["variables"]
    assert set_qty == {
        "id": "gid://shopify/CalculatedOrder/7",
        "lineItemId": calc_line,
        "quantity": 0,
    }
    add = shop.sent("OrderEditAddVariant")[0]["variables"]
    assert add == {
        "id": "gid://shopify/CalculatedOrder/7",
        "variantId": "gid://shopify/ProductVariant/55",
        "quantity": 2,
    }
    assert "e-1" in shop.sent("OrderEditCommit")[0]["variables"]["staffNote"]
    assert order.number == "#1043"

    again = await store.edit_order(
        order_number="#1043", edits=[SWAP], expected_total=Decimal("138.35"), idempotency_key="e-1"
    )
    assert again.number == "#1043"
    assert len(shop.sent("OrderEditBegin")) == 1 and len(shop.sent("OrderEditCommit")) == 1


async def test_a_shipped_order_is_refused_before_any_session(
    store: ShopifyStore, shop: FakeShopify
) -> None:
    shop.on("FindOrder", orders(order_node()))  # fulfilled
    shop.on("EditState", state("TR-9-BLK", 2))
    try:
        await store.edit_order(
            order_number="#1043",
            edits=[SWAP],
            expected_total=Decimal("138.35"),
            idempotency_key="e-2",
        )
    except Exception as exc:  # BackendError
        assert "shipped" in str(exc)
    else:
        raise AssertionError("a shipped order was edited")
    assert shop.sent("OrderEditBegin") == []


async def test_a_line_that_changed_since_the_yes_is_refused(
    store: ShopifyStore, shop: FakeShopify
) -> None:
    moved = SWAP.model_copy(update={"from_quantity": 1})  # the customer saw 1, the order has 2
    shop.on("FindOrder", orders(order_node(**UNFULFILLED)))
    shop.on("EditState", state("TR-9-BLK", 2))
    try:
        await store.edit_order(
            order_number="#1043",
            edits=[moved],
            expected_total=Decimal("138.35"),
            idempotency_key="e-3",
        )
    except Exception as exc:
        assert "changed since" in str(exc)
    else:
        raise AssertionError("a changed line was edited")
    assert shop.sent("OrderEditBegin") == []


def customer(address: dict[str, Any]) -> Any:
    return body(
        {
            "customer": {
                "id": "gid://shopify/Customer/77",
                "firstName": "Jo",
                "lastName": "Rivera",
                "createdAt": "2024-11-02T10:00:00Z",
                "tags": [],
                "defaultEmailAddress": {"emailAddress": "jo@example.com"},
                "defaultPhoneNumber": None,
                "defaultAddress": address,
            }
        }
    )


async def test_saved_address_is_created_as_default_once(
    store: ShopifyStore, shop: FakeShopify
) -> None:
    new = Address(
        name="Jo Rivera",
        line1="123 Elm Street",
        line2="Apt 4",
        city="Springfield",
        region="IL",
        postal_code="62704",
        country="US",
    )
    old = order_node()["shippingAddress"]
    saved = {
        **old,
        "address1": "123 Elm Street",
        "address2": "Apt 4",
        "city": "Springfield",
        "provinceCode": "IL",
        "zip": "62704",
    }
    shop.on("GetCustomer", customer(old))
    shop.on("GetCustomer", customer(saved))
    shop.on("CustomerAddressCreate", ok("customerAddressCreate", {"address": {"id": "a"}}))
    result = await store.update_default_address(
        customer_id="gid://shopify/Customer/77", address=new, idempotency_key="d-1"
    )
    assert result.default_address is not None and result.default_address.line1 == "123 Elm Street"
    sent = shop.sent("CustomerAddressCreate")[0]["variables"]
    assert sent["customerId"] == "gid://shopify/Customer/77"
    assert sent["address"]["address1"] == "123 Elm Street" and sent["address"]["zip"] == "62704"
    await store.update_default_address(
        customer_id="gid://shopify/Customer/77", address=new, idempotency_key="d-1"
    )
    assert len(shop.sent("CustomerAddressCreate")) == 1


def split_state(kept: int, swapped: int) -> Any:
    nodes = [{"id": LINE_GID, "sku": "TR-9-BLK", "currentQuantity": kept}]
    if swapped:
        nodes.append({"id": "gid://shopify/LineItem/902", "sku": "TR-10-BLK", "currentQuantity": 1})
    return body(
        {
            "order": {
                "id": ORDER_GID,
                "name": "#1043",
                "displayFulfillmentStatus": "UNFULFILLED",
                "cancelledAt": None,
                "totalPriceSet": {"shopMoney": {"amount": "138.35"}},
                "lineItems": {"nodes": nodes},
            }
        }
    )


async def test_a_partial_swap_keeps_the_rest_of_the_line(
    store: ShopifyStore, shop: FakeShopify
) -> None:
    """'Swap one of my two': the line is set to the units kept and the swapped units are
    added as the new variant, in one session."""
    shop.on("FindOrder", orders(order_node(**UNFULFILLED)))
    shop.on("EditState", split_state(2, 0))  # before: not landed
    shop.on("EditState", split_state(1, 1))  # after the commit
    calc_line = "gid://shopify/CalculatedLineItem/901"
    begun = {
        "calculatedOrder": {
            "id": "gid://shopify/CalculatedOrder/7",
            "lineItems": {"nodes": [{"id": calc_line, "sku": "TR-9-BLK", "quantity": 2}]},
        }
    }
    shop.on("OrderEditBegin", ok("orderEditBegin", begun))
    shop.on("OrderEditSetQuantity", ok("orderEditSetQuantity", {"calculatedOrder": {"id": "c"}}))
    variant = {"id": "gid://shopify/ProductVariant/55", "sku": "TR-10-BLK"}
    shop.on("VariantBySku", body({"productVariants": {"nodes": [variant]}}))
    shop.on("OrderEditAddVariant", ok("orderEditAddVariant", {"calculatedLineItem": {"id": "x"}}))
    shop.on("OrderEditCommit", ok("orderEditCommit", {"order": {"id": ORDER_GID}}))
    one = SWAP.model_copy(update={"units": 1})
    await store.edit_order(
        order_number="#1043", edits=[one], expected_total=Decimal("138.35"), idempotency_key="p-1"
    )
    assert shop.sent("OrderEditSetQuantity")[0]["variables"]["quantity"] == 1
    assert shop.sent("OrderEditAddVariant")[0]["variables"]["quantity"] == 1
    assert len(shop.sent("OrderEditCommit")) == 1
