"""check_edit and check_default_address: each rule with both sides of its boundary."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from commerce.edits import EditAction, OrderEdit, price_edits
from commerce.models import OrderStatus
from commerce.policy import (
    Decision,
    StorePolicy,
    check_default_address,
    check_edit,
    load_policy,
)
from tests.fakes import NOW
from tests.tools.test_changes_matrix import order

POLICY = load_policy()
S = OrderStatus


def qty(line: str, n: int) -> OrderEdit:
    return OrderEdit(line_item_id=f"#4001-{line}", action=EditAction.SET_QUANTITY, quantity=n)


def rm(line: str) -> OrderEdit:
    return OrderEdit(line_item_id=f"#4001-{line}", action=EditAction.REMOVE_ITEM)


def decide(
    edits: list[OrderEdit], status: S = S.PAID, policy: StorePolicy = POLICY, hours: float = 1
) -> Decision:
    o = order("#4001", status).model_copy(update={"created_at": NOW - timedelta(hours=hours)})
    return check_edit(policy, o, edits, price_edits(o, edits), NOW)


def test_the_packaged_review_line_is_200() -> None:
    assert POLICY.edits.review_over == Decimal("200.00")


@pytest.mark.parametrize(
    ("extra", "review"),
    [(2, False), (3, True)],  # the runner is $89: +2 is $178, +3 is $267
)
def test_review_above_the_line(extra: int, review: bool) -> None:
    decision = decide([qty("c", 1 + extra)])
    assert decision.allowed and decision.needs_approval is review


def test_review_line_is_inclusive_at_exactly_the_amount() -> None:
    policy = POLICY.model_copy(
        update={"edits": POLICY.edits.model_copy(update={"review_over": Decimal("178.00")})}
    )
    assert not decide([qty("c", 3)], policy=policy).needs_approval  # +178.00 == line
    assert decide([qty("c", 4)], policy=policy).needs_approval  # +267.00 > line


@pytest.mark.parametrize("status", [S.SHIPPED, S.DELIVERED, S.PARTIALLY_SHIPPED, S.RETURNED])
def test_only_before_shipping(status: S) -> None:
    assert not decide([rm("c")], status=status).allowed


def test_cancelled_is_refused_with_its_reason() -> None:
    decision = decide([rm("c")], status=S.CANCELLED)
    assert not decision.allowed and "cancelled" in decision.reason


def test_never_empty_the_order() -> None:
    decision = decide([rm("a"), rm("b"), rm("c")])
    assert not decision.allowed and "cancel the order" in decision.reason
    assert decide([rm("a"), rm("b")]).allowed


def test_same_price_only() -> None:
    policy = POLICY.model_copy(
        update={"edits": POLICY.edits.model_copy(update={"price_difference": "same_price_only"})}
    )
    assert not decide([rm("c")], policy=policy).allowed


def test_a_window_per_kind_of_change() -> None:
    rule = POLICY.edits.remove_item.model_copy(update={"window_hours": 2})
    policy = POLICY.model_copy(
        update={"edits": POLICY.edits.model_copy(update={"remove_item": rule})}
    )
    assert decide([rm("c")], policy=policy, hours=1.9).allowed
    assert not decide([rm("c")], policy=policy, hours=2.1).allowed
    assert decide([qty("c", 2)], policy=policy, hours=2.1).allowed  # its own rule has no window


def test_saved_address_rule() -> None:
    assert check_default_address(POLICY).allowed
    closed = POLICY.model_copy(
        update={"account": POLICY.account.model_copy(update={"default_address_change": False})}
    )
    assert not check_default_address(closed).allowed
