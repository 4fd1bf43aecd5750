"""Demo-store orders for scenarios: facts a scenario can quote ({order.number},
{order.returnable[0].name}, ...), criteria matching, and the placeholder filling.

Candidates are matched against the untouched store; which of them a run gets is a stable hash of
(scenario, run, role), so a scenario meets the same order on every run of the same day and
different scenarios spread over different customers."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from commerce.models import LineItem, Order
from commerce.policy import StorePolicy
from evals.scenarios.model import Count, OrderCriteria, Range, Scenario

# {order.number}, {other.items[0].name}, {order.email!u}: a name, then .attr / [i] steps, then
# an optional conversion. Anything else in braces (a regex's {3}) is left alone.
PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)((?:\.\w+|\[\d+\])*)(?:!([ult]))?\}")
_STEP = re.compile(r"\.(\w+)|\[(\d+)\]")


def _day(value: datetime | None) -> str:
    return f"{value.strftime('%B')} {value.day}, {value.year}" if value else ""


@dataclass(frozen=True)
class ItemFacts:
    name: str
    variant: str
    sku: str
    category: str
    quantity: int
    price: str
    final_sale: bool
    # a fixture line's (evals/scenarios/fixtures.py): the option asked for, the line's value of
    # it, and an available variant that differs in that option only
    option: str = ""
    value: str = ""
    other: str = ""
    other_variant: str = ""
    other_sku: str = ""


@dataclass(frozen=True)
class OrderFacts:
    order: Order
    number: str  # "#2061"
    digits: str  # "2061"
    email: str
    postal_code: str
    first_name: str
    last_name: str
    customer_id: str
    status: str
    country: str
    city: str
    line1: str
    total: str
    placed_days_ago: float
    delivered_days_ago: float | None
    delivered_on: str  # "March 3, 2026", as replies write dates
    carrier: str
    tracking_number: str
    shipment_status: str
    eta_days: float | None
    items: list[ItemFacts] = field(default_factory=list)
    returnable: list[ItemFacts] = field(default_factory=list)
    final_sale: list[ItemFacts] = field(default_factory=list)
    frequent_returner: bool = False  # the customer's next return is reviewed for frequency

    @classmethod
    def of(
        cls,
        order: Order,
        *,
        now: datetime,
        policy: StorePolicy,
        first_name: str,
        last_name: str,
        frequent_returner: bool = False,
    ) -> OrderFacts:
        def days(at: datetime | None) -> float | None:
            return (now - at).total_seconds() / 86400 if at else None

        blocked = {*policy.returns.final_sale_categories, *policy.returns.non_returnable_categories}
        items = [_item(li) for li in order.line_items]
        returnable = [
            _item(li)
            for li in order.line_items
            if not li.final_sale and li.category not in blocked and li.returned_quantity == 0
        ]
        first = order.shipments[0] if order.shipments else None
        eta = first.estimated_delivery if first else None
        address = order.shipping_address
        return cls(
            order=order,
            number=order.number,
            digits=order.number.lstrip("#"),
            email=order.email,
            postal_code=order.postal_code,
            first_name=first_name,
            last_name=last_name,
            customer_id=order.customer_id,
            status=order.status.value,
            country=address.country,
            city=address.city,
            line1=address.line1,
            total=f"{order.total:.2f}",
            placed_days_ago=days(order.created_at) or 0.0,
            delivered_days_ago=days(order.delivered_at),
            delivered_on=_day(order.delivered_at),
            carrier=first.carrier if first else "",
            tracking_number=first.tracking_number if first else "",
            shipment_status=first.status if first else "",
            eta_days=-(days(eta) or 0.0) if eta else None,
            items=items,
            returnable=returnable,
            final_sale=[i for i in items if i.final_sale or i.category in blocked],
            frequent_returner=frequent_returner,
        )


def _item(li: LineItem) -> ItemFacts:
    return ItemFacts(
        name=li.name,
        variant=li.variant_title,
        sku=li.sku,
        category=li.category,
        quantity=li.quantity,
        price=f"{li.unit_price:.2f}",
        final_sale=li.final_sale,
    )


def _in(value: float | None, bounds: Range | None) -> bool:
    return bounds is None or (value is not None and bounds[0] <= value <= bounds[1])


def _count(value: int, expected: Count | None) -> bool:
    if expected is None:
        return True
    low, high = (expected, expected) if isinstance(expected, int) else expected
    return low <= value <= high


def _one_of(value: str, allowed: str | list[str] | None) -> bool:
    return allowed is None or value in ([allowed] if isinstance(allowed, str) else allowed)


@dataclass(frozen=True)
class Customers:
    """What the pool knows per customer: how many orders, and whether any was refunded."""

    orders: Counter[str]
    refunded: frozenset[str]

    @classmethod
    def of(cls, pool: list[OrderFacts]) -> Customers:
        refunded = {
            f.customer_id
            for f in pool
            if f.status in ("returned", "partially_refunded") or f.order.refunded_amount > 0
        }
        return cls(Counter(f.customer_id for f in pool), frozenset(refunded))


def matches(facts: OrderFacts, c: OrderCriteria, customers: Customers) -> bool:
    """The criteria a candidate can be judged on alone (not those naming another order)."""
    order = facts.order
    if c.customer_refunded is not None and (facts.customer_id in customers.refunded) != (
        c.customer_refunded
    ):
        return False
    return (
        facts.frequent_returner == c.frequent_returner
        and _one_of(facts.status, c.status)
        and _in(facts.placed_days_ago, c.placed_days_ago)
        and _in(facts.delivered_days_ago, c.delivered_days_ago)
        and _count(len(facts.items), c.items)
        and _count(len(facts.returnable), c.returnable_items)
        and _count(len(facts.final_sale), c.final_sale_items)
        and all(_in(float(i.price), c.returnable_price) for i in facts.returnable)
        and (c.categories is None or all(i.category in c.categories for i in facts.items))
        and (c.max_quantity is None or all(i.quantity <= c.max_quantity for i in facts.items))
        and _in(float(order.total), c.total)
        and _one_of(facts.country, c.country)
        and (c.shipment_status is None or _one_of(facts.shipment_status, c.shipment_status))
        and _in(facts.eta_days, c.eta_days)
        and _count(len(order.shipments), c.shipments)
        and _count(customers.orders[facts.customer_id], c.customer_orders)
    )


def _stable(*parts: object) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)


class NoMatchingOrder(LookupError):
    pass


def pick_orders(
    scenario: Scenario, pool: list[OrderFacts], run: int, *, avoid: set[str] | None = None
) -> dict[str, OrderFacts]:
    """One distinct order per name. Each name's candidates are tried from a stable hashed
    starting point, orders of earlier runs (`avoid`) last; when a later name (say, "another
    order of the same customer") cannot be filled, the earlier choice moves on."""
    customers = Customers.of(pool)
    roles = list(scenario.orders.items())
    options: list[list[OrderFacts]] = []
    for role, criteria in roles:
        matching = [f for f in pool if matches(f, criteria, customers)]
        if not matching:
            raise NoMatchingOrder(f"no demo order matches orders.{role} of {scenario.name}")
        start = _stable(scenario.name, run, role) % len(matching)
        rotated = matching[start:] + matching[:start]
        options.append(sorted(rotated, key=lambda f: f.number in (avoid or set())))
    chosen: dict[str, OrderFacts] = {}
    budget = [_SEARCH_BUDGET]

    def place(index: int) -> bool:
        if index == len(roles):
            return True
        role, criteria = roles[index]
        for facts in options[index]:
            budget[0] -= 1
            if budget[0] < 0:
                return False
            taken = any(facts.number == c.number for c in chosen.values())
            if taken or not _related(facts, criteria, chosen):
                continue
            chosen[role] = facts
            if place(index + 1):
                return True
            del chosen[role]
        return False

    if not place(0):
        raise NoMatchingOrder(
            f"no demo orders fit orders {', '.join(scenario.orders)} of {scenario.name} together"
        )
    return chosen


_SEARCH_BUDGET = 200_000


def _related(facts: OrderFacts, c: OrderCriteria, chosen: dict[str, OrderFacts]) -> bool:
    if c.other_customer_than is not None:
        other = chosen.get(c.other_customer_than)
        if other is None or other.customer_id == facts.customer_id:
            return False
    if c.same_customer_as is not None:
        same = chosen.get(c.same_customer_as)
        if same is None or same.customer_id != facts.customer_id:
            return False
    return True


def _resolve(root: Any, path: str) -> Any:
    value = root
    for attr, index in _STEP.findall(path):
        value = getattr(value, attr) if attr else value[int(index)]
    return value


def fill(text: str, values: dict[str, Any], *, regex: bool = False) -> str:
    """Replaces the placeholders; `regex` escapes the values for use inside a pattern."""

    def one(match: re.Match[str]) -> str:
        name, path, conversion = match.groups()
        if name not in values:
            return match.group(0)
        value = str(_resolve(values[name], path))
        if conversion == "u":
            value = value.upper()
        elif conversion == "l":
            value = value.lower()
        elif conversion == "t":
            value = value.title()
        return re.escape(value) if regex else value

    return PLACEHOLDER.sub(one, text)


def placeholder_roots(text: str) -> set[str]:
    return {m.group(1) for m in PLACEHOLDER.finditer(text)}
