"""Store rules as data (a YAML file, see docs/policy.md) and the pure functions that apply them.

The decision functions do no I/O and take `now` explicitly, so the same inputs always give the
same answer and every boundary is testable. Their `reason` is written for the customer: the
agent may quote it ("delivered 41 days ago; returns close after 30 days")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from commerce.edits import EditAction, EditPrice, OrderEdit, collects_extra
from commerce.models import LineItem, Order, OrderStatus

_CENT = Decimal("0.01")


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReturnReason(_Rules):
    label: str
    needs_photo: bool = False
    needs_human: bool = False


class RestockingFee(_Rules):
    percent: Decimal = Field(default=Decimal(0), ge=0, le=100)
    exempt_reasons: list[str] = Field(default_factory=list)


class ReturnRules(_Rules):
    window_days: int = Field(ge=0)
    final_sale_categories: list[str] = Field(default_factory=list)
    non_returnable_categories: list[str] = Field(default_factory=list)
    reasons: dict[str, ReturnReason] = Field(min_length=1)
    refund_methods: list[Literal["original_payment", "store_credit"]] = Field(min_length=1)
    exchanges_allowed: bool = True
    restocking_fee: RestockingFee = RestockingFee()


class ApprovalRules(_Rules):
    auto_approve_max_value: Decimal = Field(ge=0)
    max_returns_90d: int = Field(ge=0)
    damaged_reasons: list[str] = Field(default_factory=list)
    damaged_review_over: Decimal = Field(ge=0)
    exception_reasons: list[str] = Field(default_factory=list)


class ChangeRule(_Rules):
    allowed_statuses: list[OrderStatus]
    window_hours: int | None = Field(default=None, ge=0)  # None: any time in those statuses


_UNSHIPPED = [OrderStatus.PENDING_PAYMENT, OrderStatus.PAID]


class EditRules(_Rules):
    """Changes to an order's items before it ships (see commerce/edits.py)."""

    swap_variant: ChangeRule = ChangeRule(allowed_statuses=_UNSHIPPED)
    change_quantity: ChangeRule = ChangeRule(allowed_statuses=_UNSHIPPED)
    remove_item: ChangeRule = ChangeRule(allowed_statuses=_UNSHIPPED)
    # refund_or_charge: a cheaper item is refunded, a dearer one charged; same_price_only:
    # only changes that keep the total (and exchanges at the same price) are offered
    price_difference: Literal["refund_or_charge", "same_price_only"] = "refund_or_charge"
    review_over: Decimal | None = Field(default=None, ge=0)  # a bigger difference: staff review
    # how an extra charge on a paid order is collected, never silently: payment_link records it
    # as due on the order (paid through a link sent to the customer); staff approve the change
    # and arrange the payment first
    extra_charge: Literal["payment_link", "staff"] = "payment_link"


class AccountRules(_Rules):
    default_address_change: bool = True  # the verified customer may change their saved address


class StorePolicy(_Rules):
    returns: ReturnRules
    approval: ApprovalRules
    cancellation: ChangeRule
    address_change: ChangeRule
    edits: EditRules = EditRules()
    account: AccountRules = AccountRules()

    @model_validator(mode="after")
    def _reasons_exist(self) -> StorePolicy:
        named = {
            "returns.restocking_fee.exempt_reasons": self.returns.restocking_fee.exempt_reasons,
            "approval.damaged_reasons": self.approval.damaged_reasons,
            "approval.exception_reasons": self.approval.exception_reasons,
        }
        for where, keys in named.items():
            unknown = sorted(set(keys) - set(self.returns.reasons))
            if unknown:
                raise ValueError(f"{where}: {unknown} are not keys of returns.reasons")
        return self

    @classmethod
    def from_yaml(cls, text: str) -> StorePolicy:
        return cls.model_validate(yaml.safe_load(text))


def load_policy(path: Path | None = None) -> StorePolicy:
    """The policy at `path`, or the demo store's packaged policy."""
    if path is None:
        text = resources.files("commerce.demo").joinpath("policy.yaml").read_text("utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return StorePolicy.from_yaml(text)


@dataclass(frozen=True)
class Decision:
    """`allowed`: the request may go ahead (if `needs_approval`, only once staff approve).
    `reason`: one customer-readable sentence, for refusals and approvals alike."""

    allowed: bool
    needs_approval: bool
    reason: str
    needs_photo: bool = False
    restocking_fee: Decimal = Decimal("0.00")


def _refuse(reason: str) -> Decision:
    return Decision(allowed=False, needs_approval=False, reason=reason)


def _money(amount: Decimal, currency: str) -> str:
    return f"${amount:,.2f}" if currency == "USD" else f"{amount:,.2f} {currency}"


def _ago(days: int) -> str:
    return "today" if days == 0 else "1 day ago" if days == 1 else f"{days} days ago"


def _calendar_days(start: datetime, end: datetime) -> int:
    return (end.astimezone(UTC).date() - start.astimezone(UTC).date()).days


def item_delivered_at(order: Order, line_item: LineItem) -> datetime | None:
    """When this item arrived: its shipment's delivery, not the order's latest one."""
    dates = [
        s.delivered_at
        for s in order.shipments
        if s.delivered_at and line_item.id in s.line_item_ids
    ]
    return max(dates) if dates else None


def check_return(
    policy: StorePolicy,
    order: Order,
    line_item: LineItem,
    quantity: int,
    reason: str,
    now: datetime,
    prior_returns_90d: int,
) -> Decision:
    """May `quantity` of `line_item` be returned for `reason`, and does staff need to approve?

    Hard limits (the item, the quantity, an undelivered order) are refused outright. Policy
    limits (window, final sale, category) are refused too, unless the reason is an exception
    request: that goes to staff instead."""
    rules, approval = policy.returns, policy.approval
    # The order's own copy is authoritative: the caller's may predate an earlier return.
    item = next((li for li in order.line_items if li.id == line_item.id), None)
    if item is None:
        return _refuse(f"that item is not part of order {order.number}")
    if reason not in rules.reasons:
        choices = ", ".join(rules.reasons)
        return _refuse(f"'{reason}' is not a return reason we offer; choose one of: {choices}")
    left = item.quantity - item.returned_quantity
    if quantity < 1:
        return _refuse("choose at least one item to return")
    if left <= 0:
        return _refuse(f"{item.name} from order {order.number} was already returned")
    if quantity > left:
        return _refuse(f"only {left} of {item.name} can still be returned")
    if order.status is OrderStatus.CANCELLED:
        return _refuse(f"order {order.number} was cancelled, so there is nothing to return")

    is_exception = reason in approval.exception_reasons
    reviews: list[str] = []  # why staff must approve, in the customer's words
    context: list[str] = []  # what the customer should know either way
    delivered = item_delivered_at(order, item)
    if delivered is None:
        if order.status not in (OrderStatus.DELIVERED, OrderStatus.PARTIALLY_REFUNDED):
            return _refuse(
                f"{item.name} from order {order.number} hasn't been delivered "
                "yet; returns open once it arrives"
            )
        reviews.append("we have no delivery date on record, so our team will check the window")
    else:
        days = _calendar_days(delivered, now)
        if days > rules.window_days:
            limit = f"delivered {_ago(days)}; returns close after {rules.window_days} days"
            if not is_exception:
                return _refuse(limit)
            reviews.append(limit)
        else:
            context.append(
                f"delivered {_ago(days)}, within the {rules.window_days}-day return window"
            )

    category = item.category
    if item.final_sale or category in rules.final_sale_categories:
        limit = f"{item.name} was a final-sale item, and final-sale items can't be returned"
        if not is_exception:
            return _refuse(limit)
        reviews.append(limit)
    if category in rules.non_returnable_categories:
        limit = f"items in the {category} category can't be returned"
        if not is_exception:
            return _refuse(limit)
        reviews.append(limit)

    value = item.unit_price * quantity
    currency = order.currency
    if is_exception:
        reviews.append("exception requests are always reviewed by our team")
    elif rules.reasons[reason].needs_human:
        reviews.append(f"returns for '{rules.reasons[reason].label}' are reviewed by our team")
    if value > approval.auto_approve_max_value:
        reviews.append(
            f"returns over {_money(approval.auto_approve_max_value, currency)} "
            "are reviewed by our team"
        )
    if prior_returns_90d >= approval.max_returns_90d:
        reviews.append(
            f"this would be more than {approval.max_returns_90d} returns in 90 days, "
            "so our team will review it"
        )
    if reason in approval.damaged_reasons and value > approval.damaged_review_over:
        reviews.append(
            f"damaged or defective items over "
            f"{_money(approval.damaged_review_over, currency)} are reviewed by our team"
        )

    fee = Decimal("0.00")
    if reason not in rules.restocking_fee.exempt_reasons:
        fee = (value * rules.restocking_fee.percent / 100).quantize(_CENT, ROUND_HALF_UP)
    needs_photo = rules.reasons[reason].needs_photo
    parts = context + reviews
    if fee:
        percent = f"{rules.restocking_fee.percent.normalize():f}%"
        parts.append(f"a {percent} restocking fee ({_money(fee, currency)}) applies")
    if needs_photo:
        parts.append("please attach a photo of the item")
    return Decision(
        allowed=True,
        needs_approval=bool(reviews),
        reason="; ".join(parts),
        needs_photo=needs_photo,
        restocking_fee=fee,
    )


def _check_change(rule: ChangeRule, order: Order, now: datetime, action: str) -> Decision:
    if order.status is OrderStatus.CANCELLED:
        return _refuse(f"order {order.number} is cancelled")
    if order.shipments or order.status not in rule.allowed_statuses:
        shipped = "has already shipped" if order.shipments else f"is {order.status.value}"
        return _refuse(f"order {order.number} {shipped}, so it's too late to {action}")
    if rule.window_hours is not None:
        if now - order.created_at > timedelta(hours=rule.window_hours):
            return _refuse(
                f"order {order.number} was placed more than {rule.window_hours} hours ago, "
                f"so it's too late to {action}"
            )
    return Decision(
        allowed=True,
        needs_approval=False,
        reason=f"order {order.number} hasn't shipped yet, so we can {action}",
    )


def check_cancel(policy: StorePolicy, order: Order, now: datetime) -> Decision:
    """May the order be cancelled? Only before anything ships (and inside the window, if set)."""
    return _check_change(policy.cancellation, order, now, "cancel it")


def check_address_change(policy: StorePolicy, order: Order, now: datetime) -> Decision:
    """May the shipping address change? Only before anything ships (and inside the window)."""
    return _check_change(policy.address_change, order, now, "change the address")


def check_items_change(policy: StorePolicy, order: Order, now: datetime) -> Decision:
    """May any item of the order still change (a swap, a quantity, a removal)? Asked before
    the customer is asked which change they want; `check_edit` decides the change itself."""
    rules = policy.edits
    decisions = [
        _check_change(rule, order, now, "change its items")
        for rule in (rules.swap_variant, rules.change_quantity, rules.remove_item)
    ]
    return next((d for d in decisions if d.allowed), decisions[0])


_EDIT_VERBS = {
    EditAction.SWAP_VARIANT: "swap an item for another size or colour",
    EditAction.SET_QUANTITY: "change a quantity",
    EditAction.REMOVE_ITEM: "remove an item",
}


def check_edit(
    policy: StorePolicy, order: Order, edits: list[OrderEdit], price: EditPrice, now: datetime
) -> Decision:
    """May these item changes be made? Each kind of change under its own rule (which statuses,
    which window), the order never emptied (that is a cancellation), the price difference under
    the store's rule; a difference over `review_over` goes to staff."""
    rules = policy.edits
    if not edits:
        return _refuse("say which item to change")
    by_action = {
        EditAction.SWAP_VARIANT: rules.swap_variant,
        EditAction.SET_QUANTITY: rules.change_quantity,
        EditAction.REMOVE_ITEM: rules.remove_item,
    }
    for action in dict.fromkeys(e.action for e in edits):
        decision = _check_change(by_action[action], order, now, _EDIT_VERBS[action])
        if not decision.allowed:
            return decision
    removed = {e.line_item_id for e in edits if e.action is EditAction.REMOVE_ITEM}
    if all(i.id in removed for i in order.line_items):
        return _refuse(
            f"that would leave order {order.number} empty; to remove everything, cancel the order"
        )
    if rules.price_difference == "same_price_only" and price.difference != 0:
        return _refuse("this store only makes changes that keep the same price")
    currency = order.currency
    if rules.extra_charge == "staff" and collects_extra(order, price):
        return Decision(
            allowed=True,
            needs_approval=True,
            reason="a change that costs more is arranged with you by our team before it is made",
        )
    if rules.review_over is not None and abs(price.difference) > rules.review_over:
        return Decision(
            allowed=True,
            needs_approval=True,
            reason=f"changes of more than {_money(rules.review_over, currency)} to an order's "
            "total are reviewed by our team",
        )
    return Decision(
        allowed=True,
        needs_approval=False,
        reason=f"order {order.number} hasn't shipped yet, so we can change its items",
    )


def check_default_address(policy: StorePolicy) -> Decision:
    """May the customer change the address saved on their account? Orders keep their own."""
    if not policy.account.default_address_change:
        return _refuse("the saved address can only be changed in your account on our website")
    return Decision(
        allowed=True,
        needs_approval=False,
        reason="your saved address is used for future orders; existing orders keep theirs",
    )
