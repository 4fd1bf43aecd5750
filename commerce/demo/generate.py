"""Deterministic demo data: the same seed and anchor give the same store, byte for byte.

The anchor is "now" for the generated store. Orders are spread over the 120 days before it and
each order's status is drawn from what is plausible at its age (see docs/store-format.md), so an
order placed yesterday is never delivered and a returned order was delivered well before."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from commerce.demo.catalog import build_catalog
from commerce.demo.people import People
from commerce.demo.rows import StoreCounts, build_store
from commerce.demo.schema import FORMAT_VERSION
from commerce.demo.shipping import make_shipment
from commerce.models import Customer, LineItem, Order, OrderStatus, Product, Shipment

S = OrderStatus
WINDOW_DAYS = 120
_CENT = Decimal("0.01")
TAX_RATES = {
    "US": Decimal("0.0725"),
    "CA": Decimal("0.13"),
    "GB": Decimal("0.20"),
    "DE": Decimal("0.19"),
}
SHIPPING = {
    "US": Decimal("7.95"),
    "CA": Decimal("14.95"),
    "GB": Decimal("24.95"),
    "DE": Decimal("24.95"),
}
FREE_SHIPPING_OVER = Decimal("100.00")  # US only

# Status weights by order age in days: (upper bound, weights). Ages at or past the last bound use
# the last row. Kept in step with the "order states" table in docs/store-format.md.
_STATUS_BY_AGE: list[tuple[float, dict[OrderStatus, int]]] = [
    (1, {S.PENDING_PAYMENT: 25, S.PAID: 62, S.CANCELLED: 13}),
    (
        2,
        {S.PENDING_PAYMENT: 6, S.PAID: 40, S.PARTIALLY_SHIPPED: 12, S.SHIPPED: 32, S.CANCELLED: 10},
    ),
    (4, {S.PAID: 8, S.PARTIALLY_SHIPPED: 12, S.SHIPPED: 55, S.DELIVERED: 18, S.CANCELLED: 7}),
    (
        8,
        {
            S.PARTIALLY_SHIPPED: 8,
            S.SHIPPED: 30,
            S.DELIVERED: 53,
            S.CANCELLED: 5,
            S.PARTIALLY_REFUNDED: 4,
        },
    ),
    (
        15,
        {
            S.PARTIALLY_SHIPPED: 3,
            S.SHIPPED: 4,
            S.DELIVERED: 74,
            S.CANCELLED: 5,
            S.PARTIALLY_REFUNDED: 7,
            S.RETURNED: 7,
        },
    ),
    (float("inf"), {S.DELIVERED: 78, S.CANCELLED: 5, S.RETURNED: 9, S.PARTIALLY_REFUNDED: 8}),
]
_DELIVERED_FAMILY = {S.DELIVERED, S.RETURNED, S.PARTIALLY_REFUNDED}
# how orders were paid, with weights; cards show only their last four digits
_PAYMENTS = [("Visa", 40), ("Mastercard", 25), ("American Express", 8), ("PayPal", 15),
             ("Apple Pay", 7), ("Gift card", 5)]  # fmt: skip
_CARDS = {"Visa", "Mastercard", "American Express"}
CANCEL_REASONS = [
    "Customer request: ordered the wrong size",
    "Customer request: no longer needed",
    "Customer request: found a better price",
    "Payment declined",
    "Item out of stock",
    "Suspected fraud",
]


@dataclass(frozen=True)
class DemoData:
    customers: list[Customer]
    products: list[Product]
    orders: list[Order]
    meta: dict[str, str] = field(default_factory=dict)


def default_anchor() -> datetime:
    """Today at 00:00 UTC: the store regenerated on the same day is the same store."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _days(value: float) -> timedelta:
    return timedelta(seconds=round(value * 86400))


def _pick_status(rng: random.Random, age: float) -> OrderStatus:
    weights = next(w for bound, w in _STATUS_BY_AGE if age < bound)
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _OrderFactory:
    def __init__(
        self, rng: random.Random, people: People, products: list[Product], anchor: datetime
    ) -> None:
        self.rng, self.people, self.anchor = rng, people, anchor
        self.products = products
        self.returnable = [p for p in products if not p.final_sale]
        # its own stream, so payment methods leave every other drawn value as it was
        self.pay_rng = random.Random(rng.random())

    def payment_method(self) -> str:
        rng = self.pay_rng
        kind = rng.choices([k for k, _ in _PAYMENTS], weights=[w for _, w in _PAYMENTS])[0]
        if kind in _CARDS:
            return f"{kind} •••• {rng.randint(0, 9999):04d}"
        if kind == "Apple Pay":
            return f"Apple Pay (Visa •••• {rng.randint(0, 9999):04d})"
        return kind

    def line_items(self, seq: int, count: int, returnable_only: bool) -> list[LineItem]:
        pool = self.returnable if returnable_only else self.products
        items = []
        for position, product in enumerate(self.rng.sample(pool, k=count), start=1):
            variant = self.rng.choice(product.variants)
            quantity = (
                1
                if product.category == "gift cards"
                else self.rng.choices([1, 2, 3], weights=[85, 12, 3])[0]
            )
            items.append(
                LineItem(
                    id=f"li_{seq}_{position}",
                    product_id=product.id,
                    sku=variant.sku,
                    name=product.title,
                    variant_title=variant.title,
                    category=product.category,
                    quantity=quantity,
                    unit_price=variant.price,
                    final_sale=product.final_sale,
                )
            )
        return items

    def _arrival(self, shipped_at: datetime, latest: datetime) -> datetime:
        """A daytime delivery 1.2-6 days after shipping, no later than `latest` if possible."""
        room = (latest - shipped_at).total_seconds() / 86400
        transit = self.rng.uniform(1.2, max(1.3, min(6.0, room)))
        arrival = shipped_at + _days(transit)
        daytime = arrival.replace(hour=self.rng.randint(10, 18), minute=self.rng.randint(0, 59))
        return daytime if shipped_at + timedelta(hours=20) < daytime <= latest else arrival

    def order(self, seq: int, customer: Customer, created: datetime) -> Order:
        rng, anchor = self.rng, self.anchor
        age = (anchor - created).total_seconds() / 86400
        status = _pick_status(rng, age)
        needs_two = status in (S.PARTIALLY_SHIPPED, S.PARTIALLY_REFUNDED)
        count = rng.choices([1, 2, 3, 4], weights=[50, 30, 14, 6])[0]
        items = self.line_items(
            seq,
            max(count, 2) if needs_two else count,
            returnable_only=status in (S.RETURNED, S.PARTIALLY_REFUNDED),
        )
        assert customer.default_address is not None
        address = customer.default_address
        if rng.random() < 0.1:  # shipped to a friend or the office this time
            address = self.people.address(address.country, address.name)

        shipments: list[Shipment] = []
        cancelled_at, cancel_reason = None, None
        if status is S.CANCELLED:
            cancelled_at = created + _days(rng.uniform(0.1, 0.9) * min(1.0, age))
            cancel_reason = rng.choice(CANCEL_REASONS)
        elif status in (S.SHIPPED, S.PARTIALLY_SHIPPED) or status in _DELIVERED_FAMILY:
            delivered = status in _DELIVERED_FAMILY
            slack = 3 if status is S.RETURNED else 0.05
            # Delivered orders leave at least 1.4 days between shipping and `anchor - slack`.
            latest_ship = min(1.5, age - slack - 1.4) if delivered else min(1.5, age - 0.5)
            shipped_at = created + _days(rng.uniform(0.2, latest_ship))
            covered = items
            if status is S.PARTIALLY_SHIPPED:
                covered = items[: rng.randint(1, len(items) - 1)]
            in_transit_for = (anchor - shipped_at).total_seconds() / 86400
            delayed = (
                status is S.SHIPPED and in_transit_for >= 4 and (age >= 8 or rng.random() < 0.25)
            )
            if delivered:
                arrival = self._arrival(shipped_at, anchor - timedelta(days=slack))
            else:
                arrival = self._arrival(shipped_at, anchor + timedelta(days=6))
                if status is S.SHIPPED and arrival <= anchor:
                    arrival = anchor + _days(rng.uniform(0.4, 2.5))
            shipments.append(
                make_shipment(
                    rng,
                    shipment_id=f"shp_{seq}_1",
                    address=address,
                    line_item_ids=[li.id for li in covered],
                    shipped_at=shipped_at,
                    arrival=arrival,
                    anchor=anchor,
                    delayed=delayed,
                )
            )

        if status is S.RETURNED:
            items = [
                li.model_copy(
                    update={"returned_quantity": li.quantity, "refunded_quantity": li.quantity}
                )
                for li in items
            ]
        elif status is S.PARTIALLY_REFUNDED:
            index = rng.randrange(len(items))
            items[index] = items[index].model_copy(
                update={"returned_quantity": 1, "refunded_quantity": 1}
            )

        country = address.country
        subtotal = sum((li.total for li in items), Decimal("0.00"))
        free = country == "US" and subtotal >= FREE_SHIPPING_OVER
        shipping = Decimal("0.00") if free else SHIPPING[country]
        tax = _money(subtotal * TAX_RATES[country])
        total = subtotal + shipping + tax
        refunded = sum((li.unit_price * li.refunded_quantity for li in items), Decimal("0.00"))
        if status is S.CANCELLED and cancel_reason != "Payment declined":
            refunded = total  # the payment was captured, so cancelling refunded all of it
        return Order(
            id=f"ord_{seq}",
            number=f"#{seq}",
            customer_id=customer.id,
            email=customer.email,
            created_at=created,
            status=status,
            currency="USD",
            subtotal=subtotal,
            shipping_cost=shipping,
            tax=tax,
            total=total,
            refunded_amount=_money(refunded),
            payment_method=self.payment_method(),
            shipping_address=address,
            line_items=items,
            shipments=shipments,
            cancelled_at=cancelled_at,
            cancel_reason=cancel_reason,
        )


def generate_demo_data(
    *, seed: int, anchor: datetime | None = None, customers: int = 220, orders: int = 1100
) -> DemoData:
    """Customers, catalogue and orders for `seed`, as seen at `anchor` (default: today 00:00 UTC).

    Orders are numbered from #1001 in creation order."""
    anchor = (anchor or default_anchor()).astimezone(UTC)
    rng = random.Random(seed)
    people = People(seed, rng)
    products = build_catalog(rng)
    customer_list = [people.customer(i, anchor) for i in range(1, customers + 1)]
    weights = [5.0 if "VIP" in c.tags else rng.choice([0.5, 1.0, 1.0, 2.0]) for c in customer_list]
    cum_weights = list(itertools.accumulate(weights))  # what choices() would rebuild per call

    # Slightly more recent orders than old ones (a growing store), at whole seconds.
    offsets = sorted(
        (round(WINDOW_DAYS * 86400 * rng.random() ** 1.15) + 60 for _ in range(orders)),
        reverse=True,
    )
    factory = _OrderFactory(rng, people, products, anchor)
    order_list = []
    for seq, offset in enumerate(offsets, start=1001):
        customer = rng.choices(customer_list, cum_weights=cum_weights)[0]
        created = anchor - timedelta(seconds=min(offset, WINDOW_DAYS * 86400))
        order_list.append(factory.order(seq, customer, created))
    meta = {
        "format_version": FORMAT_VERSION,
        "source": "demo",
        "seed": str(seed),
        "anchor": anchor.isoformat(),
    }
    return DemoData(customers=customer_list, products=products, orders=order_list, meta=meta)


def generate_demo_store(
    path: Path,
    *,
    seed: int,
    anchor: datetime | None = None,
    customers: int = 220,
    orders: int = 1100,
) -> StoreCounts:
    """Generate the demo store into `path` (atomically replacing any file there)."""
    data = generate_demo_data(seed=seed, anchor=anchor, customers=customers, orders=orders)
    return build_store(
        path, customers=data.customers, products=data.products, orders=data.orders, meta=data.meta
    )
