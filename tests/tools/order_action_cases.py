"""The cases of the return / cancel / address policy matrix (test_order_actions.py): the order
each starts from, the tool and its arguments, and the decision expected."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from commerce.models import OrderStatus


@dataclass
class Case:
    name: str
    order: dict[str, Any]
    tool: str = "return"
    args: dict[str, Any] = field(default_factory=dict)
    expect: str = "executed"  # refused | approval | executed
    refused_with: str = ""
    prior_returns: int = 0


D = OrderStatus.DELIVERED
RET = {
    "items": [{"item": "Trail Runner", "quantity": 1}],
    "reason": "wrong_size",
    "resolution": "refund",
}
ADDR = {"line1": "12 Oak Ave", "city": "Portland", "postal_code": "97201", "country": "US"}

CASES = [
    Case("inside window", {"status": D}),
    Case("day 30 is inside", {"status": D, "delivered_days": 30}),
    Case(
        "day 31 is outside",
        {"status": D, "delivered_days": 31},
        expect="refused",
        refused_with="returns close after 30 days",
    ),
    Case("day 90 is outside", {"status": D, "delivered_days": 90}, expect="refused"),
    Case("day 0 is inside", {"status": D, "delivered_days": 0}),
    Case(
        "final sale", {"status": D, "final_sale": True}, expect="refused", refused_with="final-sale"
    ),
    Case("gift cards are final sale", {"status": D, "category": "gift cards"}, expect="refused"),
    Case("personal care never", {"status": D, "category": "personal care"}, expect="refused"),
    Case("value at the cap", {"status": D, "price": "250.00"}),
    Case("value over the cap", {"status": D, "price": "250.01"}, expect="approval"),
    Case(
        "two items over the cap",
        {"status": D, "price": "130.00", "quantity": 2},
        args={**RET, "items": [{"item": "Trail Runner", "quantity": 2}]},
        expect="approval",
    ),
    Case("damaged at 100", {"status": D, "price": "100.00"}, args={**RET, "reason": "damaged"}),
    Case(
        "damaged over 100",
        {"status": D, "price": "100.01"},
        args={**RET, "reason": "damaged"},
        expect="approval",
    ),
    Case(
        "defective over 100",
        {"status": D, "price": "180.00"},
        args={**RET, "reason": "defective"},
        expect="approval",
    ),
    Case("third return in 90 days", {"status": D}, prior_returns=2),
    Case("fourth return in 90 days", {"status": D}, prior_returns=3, expect="approval"),
    Case(
        "exception inside window",
        {"status": D},
        args={**RET, "reason": "exception"},
        expect="approval",
    ),
    Case(
        "exception outside window",
        {"status": D, "delivered_days": 45},
        args={**RET, "reason": "exception"},
        expect="approval",
    ),
    Case(
        "exception on final sale",
        {"status": D, "final_sale": True},
        args={**RET, "reason": "exception"},
        expect="approval",
    ),
    Case("unknown reason", {"status": D}, args={**RET, "reason": "bored"}, expect="refused"),
    Case(
        "other reason in the customer's words",
        {"status": D},
        args={**RET, "reason": "other", "reason_note": "my dog hates the squeak"},
    ),
    Case(
        "other reason without words",
        {"status": D},
        args={**RET, "reason": "other"},
        expect="refused",
        refused_with="own words",
    ),
    Case("changed mind pays a fee", {"status": D}, args={**RET, "reason": "changed_mind"}),
    Case("store credit", {"status": D}, args={**RET, "resolution": "store_credit"}),
    Case(
        "exchange in stock",
        {"status": D},
        args={**RET, "resolution": "exchange", "exchange_variant": "43 / Black"},
    ),
    Case(
        "exchange out of stock",
        {"status": D},
        args={**RET, "resolution": "exchange", "exchange_variant": "44 / Black"},
        expect="refused",
        refused_with="out of stock",
    ),
    Case(
        "exchange unknown size",
        {"status": D},
        args={**RET, "resolution": "exchange", "exchange_variant": "51"},
        expect="refused",
    ),
    Case(
        "quantity above bought",
        {"status": D},
        args={**RET, "items": [{"item": "Trail Runner", "quantity": 2}]},
        expect="refused",
        refused_with="only 1",
    ),
    Case(
        "quantity zero",
        {"status": D},
        args={**RET, "items": [{"item": "Trail Runner", "quantity": 0}]},
        expect="refused",
    ),
    Case(
        "all of two",
        {"status": D, "quantity": 2},
        args={**RET, "items": [{"item": "Trail Runner", "quantity": 2}]},
    ),
    Case(
        "item not on order",
        {"status": D},
        args={**RET, "items": [{"item": "Kayak", "quantity": 1}]},
        expect="refused",
        refused_with="is not on order",
    ),
    Case("no items", {"status": D}, args={**RET, "items": []}, expect="refused"),
    Case("by SKU", {"status": D}, args={**RET, "items": [{"item": "tr-42-blk"}]}),
    Case("partially refunded order", {"status": OrderStatus.PARTIALLY_REFUNDED}),
    Case(
        "pending payment return",
        {"status": OrderStatus.PENDING_PAYMENT, "delivered_days": None},
        expect="refused",
        refused_with="hasn't been delivered",
    ),
    Case("paid return", {"status": OrderStatus.PAID, "delivered_days": None}, expect="refused"),
    Case("in transit return", {"status": OrderStatus.SHIPPED}, expect="refused"),
    Case(
        "cancelled return",
        {"status": OrderStatus.CANCELLED, "delivered_days": None},
        expect="refused",
    ),
    Case(
        "other customer's order",
        {"status": D, "customer": "c2"},
        expect="refused",
        refused_with="No order",
    ),
    Case("cancel paid", {"status": OrderStatus.PAID, "delivered_days": None}, tool="cancel"),
    Case(
        "cancel pending payment",
        {"status": OrderStatus.PENDING_PAYMENT, "delivered_days": None},
        tool="cancel",
    ),
    Case(
        "cancel shipped",
        {"status": OrderStatus.SHIPPED},
        tool="cancel",
        expect="refused",
        refused_with="Once it arrives, you can return it instead, within 30 days",
    ),
    Case(
        "cancel delivered",
        {"status": D},
        tool="cancel",
        expect="refused",
        refused_with="delivered, so you can return it instead",
    ),
    Case(
        "cancel cancelled",
        {"status": OrderStatus.CANCELLED, "delivered_days": None},
        tool="cancel",
        expect="refused",
    ),
    Case("cancel returned", {"status": OrderStatus.RETURNED}, tool="cancel", expect="refused"),
    Case(
        "cancel partially refunded",
        {"status": OrderStatus.PARTIALLY_REFUNDED},
        tool="cancel",
        expect="refused",
    ),
    Case(
        "cancel someone else's",
        {"status": OrderStatus.PAID, "delivered_days": None, "customer": "c2"},
        tool="cancel",
        expect="refused",
    ),
    Case("address paid", {"status": OrderStatus.PAID, "delivered_days": None}, tool="address"),
    Case(
        "address pending payment",
        {"status": OrderStatus.PENDING_PAYMENT, "delivered_days": None},
        tool="address",
    ),
    Case("address shipped", {"status": OrderStatus.SHIPPED}, tool="address", expect="refused"),
    Case("address delivered", {"status": D}, tool="address", expect="refused"),
    Case(
        "address cancelled",
        {"status": OrderStatus.CANCELLED, "delivered_days": None},
        tool="address",
        expect="refused",
    ),
    Case(
        "address incomplete",
        {"status": OrderStatus.PAID, "delivered_days": None},
        tool="address",
        args={**ADDR, "city": " "},
        expect="refused",
    ),
    Case(
        "address bad country",
        {"status": OrderStatus.PAID, "delivered_days": None},
        tool="address",
        args={**ADDR, "country": "Narnia"},
        expect="refused",
    ),
    Case(
        "address someone else's",
        {"status": OrderStatus.PAID, "delivered_days": None, "customer": "c2"},
        tool="address",
        expect="refused",
    ),
]
CASES += [
    Case(
        f"window day {d}",
        {"status": D, "delivered_days": d},
        expect="executed" if d <= 30 else "refused",
    )
    for d in (1, 7, 14, 29, 32, 60)
] + [
    Case(
        f"value {v}",
        {"status": D, "price": v},
        expect="executed" if Decimal(v) <= 250 else "approval",
    )
    for v in ("0.01", "99.99", "249.99", "251.00", "999.00")
]
