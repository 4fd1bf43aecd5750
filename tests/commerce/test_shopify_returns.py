"""Returns on Shopify against httpx.MockTransport: the returnCreate mutation it sends, the
marker that makes a replay send nothing, refusals, and returns read back from orders."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from commerce.models import Resolution, ReturnLine
from commerce.shopify import ShopifyStore, marker_for
from errors import BackendError
from tests.commerce.shopify_fake import (  # noqa: F401 (fixtures)
    FLI_GID,
    LINE_GID,
    ORDER_GID,
    FakeShopify,
    Sleeps,
    body,
    order_node,
    orders,
    shop,
    sleeps,
    store,
)

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
