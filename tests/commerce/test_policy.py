"""Return, cancellation and address-change decisions: a matrix over every rule, with both sides
of each boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from commerce.models import OrderStatus
from commerce.policy import check_address_change, check_cancel, check_return
from tests.commerce.policy_builders import NOW, POLICY, item, order, ret, with_rules

# (case id, decision inputs, allowed, needs_approval, phrase in reason)
RETURN_CASES: list[tuple[str, dict[str, Any], bool, bool, str]] = [
    # return window: day 30 is the last day, day 31 is too late
    ("window day 0", {"days": 0}, True, False, "delivered today, within the 30-day"),
    ("window day 1", {"days": 1}, True, False, "delivered 1 day ago"),
    ("window day 29", {"days": 29}, True, False, "delivered 29 days ago"),
    ("window day 30", {"days": 30}, True, False, "delivered 30 days ago, within"),
    (
        "window day 31",
        {"days": 31},
        False,
        False,
        "delivered 31 days ago; returns close after 30 days",
    ),
    (
        "window day 41",
        {"days": 41},
        False,
        False,
        "delivered 41 days ago; returns close after 30 days",
    ),
    (
        "window day 31, exception",
        {"days": 31, "reason": "exception"},
        True,
        True,
        "returns close after 30 days",
    ),
    # final sale: flag or category
    ("final-sale flag", {"final_sale": True}, False, False, "final-sale items can't be returned"),
    ("final-sale category", {"category": "gift cards"}, False, False, "final-sale"),
    (
        "final-sale, exception",
        {"final_sale": True, "reason": "exception"},
        True,
        True,
        "final-sale",
    ),
    ("not final-sale", {"final_sale": False, "category": "apparel"}, True, False, "within"),
    (
        "non-returnable category",
        {"category": "personal care"},
        False,
        False,
        "personal care category can't be returned",
    ),
    (
        "non-returnable, exception",
        {"category": "personal care", "reason": "exception"},
        True,
        True,
        "exception requests are always reviewed",
    ),
    # quantities: never more than quantity - returned_quantity
    ("qty 1 of 1", {"quantity": 1, "of": 1}, True, False, "within"),
    ("qty 2 of 1", {"quantity": 2, "of": 1}, False, False, "only 1 of Trail Runner"),
    ("qty 2 of 3, 1 returned", {"quantity": 2, "of": 3, "returned": 1}, True, False, "within"),
    ("qty 3 of 3, 1 returned", {"quantity": 3, "of": 3, "returned": 1}, False, False, "only 2 of"),
    ("all returned", {"quantity": 1, "of": 2, "returned": 2}, False, False, "was already returned"),
    (
        "all returned, exception",
        {"of": 1, "returned": 1, "reason": "exception"},
        False,
        False,
        "already returned",
    ),
    ("qty 0", {"quantity": 0}, False, False, "at least one"),
    # auto-approval ceiling: $250.00 is auto-approved, $250.01 is reviewed
    ("value at max", {"price": "250.00"}, True, False, "within"),
    ("value over max", {"price": "250.01"}, True, True, "returns over $250.00 are reviewed"),
    ("value 2 x 125 at max", {"price": "125.00", "quantity": 2, "of": 2}, True, False, "within"),
    (
        "value 2 x 125.01 over",
        {"price": "125.01", "quantity": 2, "of": 2},
        True,
        True,
        "over $250.00",
    ),
    # returns in the last 90 days: up to 3 before this one are automatic
    ("prior 0", {"prior": 0}, True, False, "within"),
    ("prior 2", {"prior": 2}, True, False, "within"),
    ("prior 3", {"prior": 3}, True, True, "more than 3 returns in 90 days"),
    ("prior 7", {"prior": 7}, True, True, "more than 3 returns in 90 days"),
    # damaged/defective: $100.00 automatic, above that reviewed; photo asked either way
    (
        "damaged at threshold",
        {"reason": "damaged", "price": "100.00"},
        True,
        False,
        "please attach a photo",
    ),
    (
        "damaged over threshold",
        {"reason": "damaged", "price": "100.01"},
        True,
        True,
        "damaged or defective items over $100.00",
    ),
    (
        "defective over threshold",
        {"reason": "defective", "price": "180.00"},
        True,
        True,
        "damaged or defective",
    ),
    (
        "wrong size over damage threshold",
        {"reason": "wrong_size", "price": "180.00"},
        True,
        False,
        "within",
    ),
    ("wrong item asks for photo", {"reason": "wrong_item"}, True, False, "attach a photo"),
    # exception requests always need staff, even inside every rule
    (
        "exception inside the rules",
        {"reason": "exception"},
        True,
        True,
        "exception requests are always reviewed",
    ),
    ("unknown reason", {"reason": "bored"}, False, False, "'bored' is not a return reason"),
    # restocking fee: 10% unless the reason is exempt
    (
        "changed mind pays fee",
        {"reason": "changed_mind", "price": "80.00"},
        True,
        False,
        "10% restocking fee ($8.00)",
    ),
    ("wrong size is exempt", {"reason": "wrong_size"}, True, False, "within"),
    # the order's state
    (
        "in transit",
        {"status": OrderStatus.SHIPPED, "days": None},
        False,
        False,
        "hasn't been delivered yet",
    ),
    (
        "paid, not shipped",
        {"status": OrderStatus.PAID, "shipped": False},
        False,
        False,
        "hasn't been delivered yet",
    ),
    (
        "cancelled",
        {"status": OrderStatus.CANCELLED, "shipped": False},
        False,
        False,
        "was cancelled",
    ),
    ("delivered, no date on record", {"shipped": False}, True, True, "no delivery date"),
    (
        "partially refunded, other unit",
        {"status": OrderStatus.PARTIALLY_REFUNDED, "of": 2, "returned": 1},
        True,
        False,
        "within",
    ),
]


@pytest.mark.parametrize(
    ("inputs", "allowed", "needs_approval", "phrase"),
    [case[1:] for case in RETURN_CASES],
    ids=[case[0] for case in RETURN_CASES],
)
def test_return_matrix(
    inputs: dict[str, Any], allowed: bool, needs_approval: bool, phrase: str
) -> None:
    line = item(
        price=inputs.get("price", "80.00"),
        quantity=inputs.get("of", 1),
        returned=inputs.get("returned", 0),
        final_sale=inputs.get("final_sale", False),
        category=inputs.get("category", "footwear"),
    )
    o = order(
        line,
        status=inputs.get("status", OrderStatus.DELIVERED),
        delivered_days_ago=inputs.get("days", 10),
        shipped=inputs.get("shipped", True),
    )
    decision = ret(
        o,
        quantity=inputs.get("quantity", 1),
        reason=inputs.get("reason", "wrong_size"),
        prior=inputs.get("prior", 0),
    )
    assert (decision.allowed, decision.needs_approval) == (allowed, needs_approval), decision
    assert phrase in decision.reason
    if not allowed:
        assert not decision.needs_approval and decision.restocking_fee == 0


def test_window_counts_calendar_days_not_hours() -> None:
    # Delivered late on May 2, asked early on June 1 (UTC): 30 calendar days, still open.
    line = item()
    o = order(line, delivered_days_ago=30).model_copy(deep=True)
    late = o.shipments[0].model_copy(
        update={"delivered_at": datetime(2025, 5, 2, 23, 30, tzinfo=UTC)}
    )
    o = o.model_copy(update={"shipments": [late]})
    early = datetime(2025, 6, 1, 0, 30, tzinfo=UTC)
    assert check_return(POLICY, o, line, 1, "wrong_size", early, 0).allowed
    assert not check_return(POLICY, o, line, 1, "wrong_size", early + timedelta(days=1), 0).allowed


def test_returned_quantity_comes_from_the_order_not_the_caller() -> None:
    stored = item(quantity=1, returned=1)
    stale = item(quantity=1, returned=0)
    decision = ret(order(stored), line=stale)
    assert not decision.allowed and "already returned" in decision.reason


def test_item_from_another_order_is_refused() -> None:
    decision = ret(order(), line=item(item_id="li_other"))
    assert not decision.allowed and "not part of order #1043" in decision.reason


def test_fee_and_photo_flags() -> None:
    fee = ret(order(item(price="45.50")), reason="changed_mind", quantity=1)
    assert fee.restocking_fee == Decimal("4.55") and not fee.needs_photo
    damaged = ret(order(), reason="damaged")
    assert damaged.needs_photo and damaged.restocking_fee == 0
    no_fee = with_rules(returns={"restocking_fee": {"percent": "0", "exempt_reasons": []}})
    free = ret(order(), reason="changed_mind", policy=no_fee)
    assert free.restocking_fee == 0 and "restocking" not in free.reason


def test_window_is_data() -> None:
    short = with_rules(returns={"window_days": 14})
    assert ret(order(delivered_days_ago=14), policy=short).allowed
    refused = ret(order(delivered_days_ago=15), policy=short)
    assert not refused.allowed
    assert refused.reason == "delivered 15 days ago; returns close after 14 days"


NOT_SHIPPED = {"shipped": False}
CHANGE_CASES: list[tuple[str, OrderStatus, dict[str, Any], dict[str, Any], bool, str]] = [
    ("pending payment", OrderStatus.PENDING_PAYMENT, NOT_SHIPPED, {}, True, "hasn't shipped"),
    ("paid", OrderStatus.PAID, NOT_SHIPPED, {}, True, "hasn't shipped yet"),
    (
        "partially shipped",
        OrderStatus.PARTIALLY_SHIPPED,
        {"delivered_days_ago": None},
        {},
        False,
        "has already shipped",
    ),
    (
        "shipped",
        OrderStatus.SHIPPED,
        {"delivered_days_ago": None},
        {},
        False,
        "has already shipped, so it's too late",
    ),
    ("delivered", OrderStatus.DELIVERED, {}, {}, False, "has already shipped"),
    ("cancelled", OrderStatus.CANCELLED, NOT_SHIPPED, {}, False, "is cancelled"),
    ("returned", OrderStatus.RETURNED, {}, {}, False, "too late"),
    (
        "window 2h, placed 119 min ago",
        OrderStatus.PAID,
        dict(NOT_SHIPPED, placed_hours_ago=119 / 60),
        {"window_hours": 2},
        True,
        "hasn't shipped",
    ),
    (
        "window 2h, placed 2h ago",
        OrderStatus.PAID,
        dict(NOT_SHIPPED, placed_hours_ago=2),
        {"window_hours": 2},
        True,
        "hasn't shipped",
    ),
    (
        "window 2h, placed 121 min ago",
        OrderStatus.PAID,
        dict(NOT_SHIPPED, placed_hours_ago=121 / 60),
        {"window_hours": 2},
        False,
        "placed more than 2 hours ago",
    ),
    (
        "paid not allowed by rule",
        OrderStatus.PAID,
        NOT_SHIPPED,
        {"allowed_statuses": ["pending_payment"]},
        False,
        "is paid, so it's too late",
    ),
]


@pytest.mark.parametrize("check", [check_cancel, check_address_change], ids=["cancel", "address"])
@pytest.mark.parametrize(
    ("status", "order_kwargs", "rule", "allowed", "phrase"),
    [case[1:] for case in CHANGE_CASES],
    ids=[case[0] for case in CHANGE_CASES],
)
def test_change_matrix(
    check: Any,
    status: OrderStatus,
    order_kwargs: dict[str, Any],
    rule: dict[str, Any],
    allowed: bool,
    phrase: str,
) -> None:
    section = "cancellation" if check is check_cancel else "address_change"
    policy = with_rules(**{section: rule}) if rule else POLICY
    decision = check(policy, order(status=status, **order_kwargs), NOW)
    assert decision.allowed is allowed, decision
    assert decision.needs_approval is False
    assert phrase in decision.reason
    action = "cancel it" if check is check_cancel else "change the address"
    assert action in decision.reason or decision.reason.endswith("is cancelled")


def test_cancel_and_address_rules_are_independent() -> None:
    policy = with_rules(cancellation={"window_hours": 1})
    o = order(status=OrderStatus.PAID, shipped=False, placed_hours_ago=3)
    assert not check_cancel(policy, o, NOW).allowed
    assert check_address_change(policy, o, NOW).allowed
