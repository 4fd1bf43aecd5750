"""Fixture orders: a scenario names the lines it needs by product options ("a line whose
product comes in another colour", "two lines of one product") and the order picked by its
criteria gets exactly those lines, built from the demo catalogue, after the store is reset for
the run. Which products and variants fit is decided here, deterministically per (scenario, run,
role), so a run meets the same lines every time.

The order's shipments keep their dates and carry the new lines (a delivered order's lines are
delivered), its totals are recomputed at its own tax rate, and any return it had is removed:
the fixture is an order that simply contains these lines."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, insert, select, update

from commerce.demo import queries
from commerce.demo import schema as t
from commerce.models import Order, Product, Variant
from commerce.policy import StorePolicy
from evals.scenarios.model import LineSpec
from evals.scenarios.orders import OrderFacts, _stable

_CENT = Decimal("0.01")


class NoFixture(LookupError):
    """No product of the catalogue fits a fixture line."""


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").casefold() == (b or "").casefold()


def _axis(variant: Variant, option: str) -> str | None:
    """The variant's own name of `option` ("color" -> "Color"), or None."""
    return next((name for name in variant.options if _same(name, option)), None)


def _others(product: Product, variant: Variant, option: str, quantity: int) -> list[Variant]:
    """Available variants that differ from `variant` in `option` only."""
    axis = _axis(variant, option)
    if axis is None:
        return []
    return [
        w
        for w in product.variants
        if w.sku != variant.sku
        and w.available
        and (w.stock >= quantity or w.inventory_policy == "continue")
        and not _same(w.options.get(axis), variant.options.get(axis))
        and all(w.options.get(k) == v for k, v in variant.options.items() if k != axis)
    ]


def _candidates(
    products: list[Product],
    spec: LineSpec,
    blocked: set[str],
    earlier: list[tuple[Product, Variant, Variant | None]],
) -> Iterator[tuple[Product, Variant, Variant | None]]:
    categories = [spec.category] if isinstance(spec.category, str) else spec.category
    used = {v.sku for _, v, _ in earlier}
    for product in products:
        if product.final_sale or product.category in blocked:
            continue
        if categories is not None and product.category not in categories:
            continue
        if spec.same_product_as is not None and product.id != earlier[spec.same_product_as][0].id:
            continue
        for variant in product.variants:
            if variant.sku in used or not variant.available:
                continue
            if variant.stock < spec.quantity and variant.inventory_policy != "continue":
                continue
            if spec.price is not None and not spec.price[0] <= variant.price <= spec.price[1]:
                continue
            if not all(
                _same(variant.options.get(_axis(variant, k) or k), v)
                for k, v in spec.options.items()
            ):
                continue
            other = None
            if spec.option is not None:
                others = _others(product, variant, spec.option, spec.quantity)
                if spec.dearer:
                    others = [w for w in others if w.price > variant.price]
                if not others:
                    continue
                other = others[0]
            yield product, variant, other


def choose_lines(
    products: list[Product], specs: list[LineSpec], policy: StorePolicy, seed: tuple[Any, ...]
) -> list[tuple[Product, Variant, Variant | None]]:
    """(product, variant, other variant) per spec, from a stable hashed starting point."""
    blocked = {*policy.returns.final_sale_categories, *policy.returns.non_returnable_categories}
    chosen: list[tuple[Product, Variant, Variant | None]] = []
    for index, spec in enumerate(specs):
        found = list(_candidates(products, spec, blocked, chosen))
        if not found:
            raise NoFixture(f"no catalogue product fits lines[{index}] {spec.model_dump()}")
        chosen.append(found[_stable(*seed, index) % len(found)])
    return chosen


def _write(path: Path, order: Order, rows: list[dict[str, Any]]) -> None:
    engine = create_engine(f"sqlite:///{path}")
    subtotal = sum((r["unit_price"] * r["quantity"] for r in rows), Decimal(0))
    rate = order.tax / order.subtotal if order.subtotal else Decimal(0)
    tax = (subtotal * rate).quantize(_CENT, ROUND_HALF_UP)
    try:
        with engine.begin() as conn:
            old = select(t.line_items.c.id).where(t.line_items.c.order_id == order.id)
            conn.execute(delete(t.shipment_items).where(t.shipment_items.c.line_item_id.in_(old)))
            rmas = select(t.returns.c.id).where(t.returns.c.order_id == order.id)
            conn.execute(delete(t.return_items).where(t.return_items.c.return_id.in_(rmas)))
            conn.execute(delete(t.returns).where(t.returns.c.order_id == order.id))
            conn.execute(delete(t.line_items).where(t.line_items.c.order_id == order.id))
            conn.execute(insert(t.line_items), rows)
            first = conn.execute(
                select(t.shipments.c.id)
                .where(t.shipments.c.order_id == order.id)
                .order_by(t.shipments.c.position)
            ).first()
            if first is not None:
                conn.execute(
                    insert(t.shipment_items),
                    [
                        {"shipment_id": first[0], "line_item_id": r["id"], "position": i}
                        for i, r in enumerate(rows)
                    ],
                )
            conn.execute(
                update(t.orders)
                .where(t.orders.c.id == order.id)
                .values(
                    subtotal=subtotal,
                    tax=tax,
                    total=subtotal + order.shipping_cost + tax,
                    refunded_amount=Decimal(0),
                    amount_due=Decimal(0),
                )
            )
    finally:
        engine.dispose()


def _catalogue(path: Path) -> list[Product]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return sorted(queries.load_products(conn), key=lambda p: p.id)
    finally:
        engine.dispose()


_CATALOGUES: dict[Path, list[Product]] = {}


async def apply_fixture(
    env: Any, facts: OrderFacts, specs: list[LineSpec], seed: tuple[Any, ...]
) -> OrderFacts:
    """Gives the order `facts` names exactly the lines `specs` ask for, in the store, and
    returns its facts afterwards (with each line's option, value and other variant)."""
    store = env.store
    path = store.path
    if path not in _CATALOGUES:
        _CATALOGUES[path] = await asyncio.to_thread(_catalogue, path)
    policy = env.services.deps.policy
    picked = choose_lines(_CATALOGUES[path], specs, policy, seed)
    order = facts.order
    rows = [
        {
            "id": f"{order.id}-fx{i}",
            "order_id": order.id,
            "position": i,
            "product_id": product.id,
            "sku": variant.sku,
            "name": product.title,
            "variant_title": variant.title,
            "category": product.category,
            "quantity": spec.quantity,
            "unit_price": variant.price,
            "final_sale": product.final_sale,
            "returned_quantity": 0,
            "refunded_quantity": 0,
        }
        for i, ((product, variant, _), spec) in enumerate(zip(picked, specs, strict=True))
    ]
    await store.close()  # the sync write below takes the file; the engine reconnects
    await asyncio.to_thread(_write, path, order, rows)
    fresh = await store.find_order(order.number)
    assert fresh is not None
    after = OrderFacts.of(
        fresh,
        now=datetime.now(UTC),
        policy=policy,
        first_name=facts.first_name,
        last_name=facts.last_name,
    )
    items = []
    for item, (_, variant, other), spec in zip(after.items, picked, specs, strict=True):
        if spec.option is None or other is None:
            items.append(item)
            continue
        axis = _axis(variant, spec.option) or spec.option
        items.append(
            replace(
                item,
                option=axis,
                value=variant.options.get(axis, ""),
                other=other.options.get(axis, ""),
                other_variant=other.title,
                other_sku=other.sku,
            )
        )
    returnable = {r.sku for r in after.returnable}
    return replace(after, items=items, returnable=[i for i in items if i.sku in returnable])
