"""The scenario file format, as pydantic models: a file that does not fit fails to load with
the field that is wrong, so a typo in a check can never silently turn it off."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")

Range = tuple[float, float]
Count = int | tuple[int, int]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnyOf(_Strict):
    """Passes when at least one of the patterns is found."""

    any: list[str] = Field(min_length=1)


Pattern = str | AnyOf


class ToolExpect(_Strict):
    name: str
    ok: bool | None = None  # None: succeeded or refused, either is fine
    args: dict[str, str] = Field(default_factory=dict)  # each value a pattern on str(arg)


class ReplyChecks(_Strict):
    """Checks on what the customer saw. Under a turn they look at that turn only; under the
    scenario they look at the whole conversation."""

    says: list[Pattern] = Field(default_factory=list)  # regex, case-insensitive, all must match
    never_says: list[str] = Field(default_factory=list)
    tools: list[str | ToolExpect] = Field(default_factory=list)  # called at least once
    no_tools: list[str] = Field(default_factory=list)
    cites: list[str] = Field(default_factory=list)  # a citation whose id or title matches
    # "none": no escalation; "any": at least one; otherwise the reason of one of them
    escalation: str | None = None
    owner: Literal["bot", "queued", "human", "resolved"] | None = None


class ReturnExpect(_Strict):
    order: str = "order"
    items: list[str] = Field(default_factory=list)  # product names; empty: any items
    resolution: Literal["refund", "store_credit", "exchange"] | None = None
    exchange_to: list[str] = Field(default_factory=list)  # the replacement skus, exactly


class ItemsExpect(_Strict):
    """An order whose items must change (an edit before shipping): after the conversation its
    lines, written "2 × Name (Variant)", include every `has` pattern and match no `lacks` one."""

    order: str = "order"
    has: list[str] = Field(default_factory=list)
    lacks: list[str] = Field(default_factory=list)


class AddressExpect(_Strict):
    order: str = "order"
    line1: str | None = None
    city: str | None = None
    postal_code: str | None = None


class StoreExpect(_Strict):
    """The changes the conversation must leave in the store: exactly these, nothing else."""

    returns: list[ReturnExpect] = Field(default_factory=list)
    cancelled: list[str] = Field(default_factory=list)  # order names
    address: list[AddressExpect] = Field(default_factory=list)
    items: list[ItemsExpect] = Field(default_factory=list)


class ActionExpect(_Strict):
    kind: Literal["return", "cancel", "address_change"]
    status: str  # a pending_actions status, e.g. awaiting_approval, executed, rejected


class Checks(ReplyChecks):
    # "unchanged" (the default): the scenario's orders and the store's returns are as before;
    # "any": not checked
    store: StoreExpect | Literal["unchanged", "any"] = "unchanged"
    actions: list[ActionExpect] = Field(default_factory=list)


class CustomerTurn(_Strict):
    customer: str = Field(min_length=1)
    expect: ReplyChecks = ReplyChecks()


StaffVerb = Literal["approve", "reject", "reply", "claim", "hand_back", "resolve", "receive_return"]


class StaffTurn(_Strict):
    """What staff do between customer turns, through the staff API's own functions."""

    staff: StaffVerb
    text: str = ""  # the reply for `reply`, the note for `reject`
    order: str = "order"  # for receive_return: whose return the warehouse receives
    expect: ReplyChecks = ReplyChecks()

    @model_validator(mode="after")
    def _reply_has_text(self) -> StaffTurn:
        if self.staff == "reply" and not self.text.strip():
            raise ValueError("a staff reply needs `text`")
        return self


Turn = Annotated[CustomerTurn | StaffTurn, Field(union_mode="left_to_right")]


class LineSpec(_Strict):
    """One line of a fixture order: the picked order's items are replaced by lines built from
    the catalogue before each run (evals/scenarios/fixtures.py), so a scenario can ask for the
    products it needs. Facts: {order.items[i].name}, .variant, .option, .value (the line's
    value of `option`), .other / .other_variant / .other_sku (an available variant that differs
    from the line in `option` only)."""

    option: str | None = None  # the product has this option ("Color", "Capacity", "Material")
    options: dict[str, str] = Field(default_factory=dict)  # the line's variant has these values
    category: str | list[str] | None = None
    same_product_as: int | None = Field(default=None, ge=0)  # another variant of line N's product
    dearer: bool = False  # the `other` variant costs more than the line's
    price: Range | None = None  # the line's unit price (e.g. under the staff-review value)
    quantity: int = Field(default=1, ge=1, le=9)


class OrderCriteria(_Strict):
    """Which demo-store order a scenario uses, resolved at run time (the store's dates are
    relative to today). Ranges are inclusive; days are counted back from now."""

    status: str | list[str] | None = None
    placed_days_ago: Range | None = None
    delivered_days_ago: Range | None = None
    items: Count | None = None  # number of line items
    returnable_items: Count | None = None  # not final sale, returnable category, not returned
    final_sale_items: Count | None = None
    categories: list[str] | None = None  # every item is in one of these categories
    returnable_price: Range | None = None  # every returnable item's unit price in this range
    max_quantity: int | None = None  # every line's quantity at most this
    total: Range | None = None
    country: str | list[str] | None = None
    shipment_status: str | list[str] | None = None  # of the first shipment
    eta_days: Range | None = None  # estimated delivery minus now (negative: overdue)
    shipments: Count | None = None
    customer_orders: Count | None = None  # orders the customer has in the store
    customer_refunded: bool | None = None  # any of the customer's orders returned or refunded
    # the customer's next return goes to staff for frequency (policy approval.max_returns_90d);
    # false by default: the demo's returns age with the clock, and a scenario that expects a
    # return to go ahead must not get such a customer on one day and not the next
    frequent_returner: bool = False
    other_customer_than: str | None = None  # another named order's customer must differ
    same_customer_as: str | None = None
    # a fixture: the order picked by the criteria above gets exactly these lines
    lines: list[LineSpec] | None = Field(default=None, min_length=1, max_length=4)

    @model_validator(mode="after")
    def _lines_refer_back(self) -> OrderCriteria:
        for i, line in enumerate(self.lines or []):
            if line.same_product_as is not None and line.same_product_as >= i:
                raise ValueError(f"lines[{i}].same_product_as must name an earlier line")
        return self


class Scenario(_Strict):
    name: str
    about: str = ""
    tags: list[str] = Field(default_factory=list)
    orders: dict[str, OrderCriteria] = Field(default_factory=dict)
    turns: list[Turn] = Field(min_length=1)
    expect: Checks = Checks()

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("names are lower-case words joined by '-'")
        return value

    @model_validator(mode="after")
    def _orders_named(self) -> Scenario:
        named = set(self.orders)
        earlier: set[str] = set()
        for key, criteria in self.orders.items():
            for other in (criteria.other_customer_than, criteria.same_customer_as):
                if other is not None and other not in earlier:
                    raise ValueError(f"orders.{key}: {other!r} is not an order declared before it")
            earlier.add(key)
        refs = [r.order for r in _store_refs(self.expect)]
        refs += [
            t.order for t in self.turns if isinstance(t, StaffTurn) and t.staff == "receive_return"
        ]
        for ref in refs:
            if ref not in named:
                raise ValueError(f"{ref!r} is not one of the scenario's orders {sorted(named)}")
        return self


class _Ref(BaseModel):
    order: str


def _store_refs(checks: Checks) -> list[_Ref]:
    if not isinstance(checks.store, StoreExpect):
        return []
    store = checks.store
    names = [r.order for r in store.returns] + store.cancelled + [a.order for a in store.address]
    names += [i.order for i in store.items]
    return [_Ref(order=n) for n in names]


class SuiteFile(_Strict):
    scenarios: list[Scenario] = Field(min_length=1)
