"""Order.payment_method: masked in the demo store and from Shopify's transactions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from commerce import shopify_mapping as m
from commerce.demo.generate import DemoData
from commerce.demo.store import DemoStore
from tests.commerce.test_shopify import order_node

MASKED = re.compile(r"^(?:(?:Visa|Mastercard|American Express) •••• \d{4}|PayPal|Gift card|"
                    r"Apple Pay \(Visa •••• \d{4}\))$")  # fmt: skip


async def test_demo_orders_have_a_masked_payment_method(demo_db: Path, demo_data: DemoData) -> None:
    methods = [o.payment_method for o in demo_data.orders]
    assert all(method is not None and MASKED.match(method) for method in methods)
    assert len(set(methods)) > 100  # card endings vary
    store = DemoStore.open(demo_db)
    try:
        order = await store.find_order(demo_data.orders[5].number)
    finally:
        await store.close()
    assert order is not None and order.payment_method == demo_data.orders[5].payment_method


def _tx(**fields: Any) -> dict[str, Any]:
    return {"kind": "SALE", "status": "SUCCESS", "gateway": "shopify_payments", **fields}


@pytest.mark.parametrize(
    ("transactions", "gateways", "expected"),
    [
        ([_tx(paymentDetails={"company": "Visa", "number": "•••• •••• •••• 4242"})], [],
         "Visa •••• 4242"),
        # a full number never gets through: only the last four digits are kept
        ([_tx(paymentDetails={"company": "Visa", "number": "4111111111111111"})], [],
         "Visa •••• 1111"),
        ([_tx(gateway="paypal", paymentDetails={})], ["paypal"], "PayPal"),
        ([_tx(status="FAILURE", paymentDetails={"company": "Visa", "number": "•••• 0002"}),
          _tx(gateway="gift_card", paymentDetails=None)], [], "Gift card"),
        ([], ["manual"], "Manual payment"),
        ([], [], None),
    ],
)  # fmt: skip
def test_shopify_payment_method(
    transactions: list[dict[str, Any]], gateways: list[str], expected: str | None
) -> None:
    node = order_node(transactions=transactions, paymentGatewayNames=gateways)
    assert m.order(node).payment_method == expected
