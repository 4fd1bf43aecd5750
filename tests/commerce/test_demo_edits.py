"""DemoStore order edits and saved address: exactly the rows that should change (line items,
stock, order totals, refunds; the customer's address columns), refusals that change nothing,
and one application per idempotency key."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from commerce.backend import StoreBackend
from commerce.demo.generate import DemoData
from commerce.demo.store import DemoStore
from commerce.edits import EditAction, OrderEdit, price_edits
from commerce.models import Address, LineItem, Order, OrderStatus, Product
from errors import BackendError
from tests.commerce.test_demo_writes import (  # noqa: F401 (fixtures)
    db,
    demo_data,
    diff,
    small_db,
    snapshot,
    store,
)


async def _paid_with_swap(data: DemoData, store: DemoStore) -> tuple[Order, Product, str]:
    """A paid order whose first item's product has another variant in stock."""
    for order in data.orders:
        if order.status is not OrderStatus.PAID or order.shipments:
            continue
        item = order.line_items[0]
        product = await store.get_product(item.product_id)
        if product is None:
            continue
        other = next(
            (v for v in product.variants if v.sku != item.sku and v.stock >= item.quantity), None
        )
        if other is not None:
            return order, product, other.sku
    raise AssertionError("no paid order with a swappable item in the demo data")


async def test_the_store_implements_the_protocol(store: DemoStore) -> None:
    assert isinstance(store, StoreBackend)


async def test_a_swap_changes_the_line_stock_and_totals_once(
    store: DemoStore, demo_data: DemoData, db: Path
) -> None:
    order, product, sku = await _paid_with_swap(demo_data, store)
    order = await store.find_order(order.number) or order
    item = order.line_items[0]
    new = product.variant(sku)
    assert new is not None
    edit = OrderEdit(
        line_item_id=item.id,
        action=EditAction.SWAP_VARIANT,
        from_sku=item.sku,
        from_quantity=item.quantity,
        new_sku=sku,
        new_variant_title=new.title,
        new_unit_price=new.price,
    )
    price = price_edits(order, [edit])
    before = snapshot(db)
    done = await store.edit_order(
        order_number=order.number, edits=[edit], expected_total=price.total, idempotency_key="k1"
    )
    changed = diff(before, snapshot(db))
    moved = {"orders"} if price.difference else set()  # same price: the totals stay
    assert set(changed) == {"line_items", "variants", "applied_operations"} | moved
    assert next(i for i in done.line_items if i.id == item.id).sku == sku
    assert done.total == price.total
    stock = {k[0]: v for k, v in changed["variants"]["changed"].items()}
    assert stock[item.sku]["stock"][1] - stock[item.sku]["stock"][0] == item.quantity
    assert stock[sku]["stock"][0] - stock[sku]["stock"][1] == item.quantity
    if price.difference < 0:
        assert done.refunded_amount == order.refunded_amount - price.difference
    again = await store.edit_order(
        order_number=order.number, edits=[edit], expected_total=price.total, idempotency_key="k1"
    )
    assert again == done
    assert diff(before, snapshot(db)) == changed  # the replay wrote nothing


async def test_refusals_change_nothing(store: DemoStore, demo_data: DemoData, db: Path) -> None:
    order, _, _ = await _paid_with_swap(demo_data, store)
    order = await store.find_order(order.number) or order
    item = order.line_items[0]
    shipped = next(o for o in demo_data.orders if o.status is OrderStatus.SHIPPED)
    before = snapshot(db)
    cases = [
        # the customer saw another quantity: the order changed since the yes
        (
            order,
            OrderEdit(
                line_item_id=item.id, action=EditAction.REMOVE_ITEM, from_quantity=item.quantity + 5
            ),
            None,
            "changed since",
        ),
        # the total the customer confirmed is not what it would cost
        (
            order,
            OrderEdit(
                line_item_id=item.id,
                action=EditAction.SET_QUANTITY,
                quantity=1,
                from_quantity=item.quantity,
            ),
            Decimal("0.01"),
            "changed since",
        ),
        (
            shipped,
            OrderEdit(line_item_id=shipped.line_items[0].id, action=EditAction.REMOVE_ITEM),
            None,
            "shipped",
        ),
    ]
    if len(order.line_items) == 1:
        cases.append(
            (order, OrderEdit(line_item_id=item.id, action=EditAction.REMOVE_ITEM), None, "empty")
        )
    for i, (target, edit, total, words) in enumerate(cases):
        with pytest.raises(BackendError, match=words):
            expected = total if total is not None else order.total
            await store.edit_order(
                order_number=target.number,
                edits=[edit],
                expected_total=expected,
                idempotency_key=f"bad-{i}",
            )
    assert diff(before, snapshot(db)) == {}


async def test_saved_address_changes_the_customer_only(
    store: DemoStore, demo_data: DemoData, db: Path
) -> None:
    customer = demo_data.customers[0]
    address = Address(
        name=customer.name,
        line1="123 Elm Street",
        line2="Apt 4",
        city="Springfield",
        region="IL",
        postal_code="62704",
        country="US",
    )
    before = snapshot(db)
    saved = await store.update_default_address(
        customer_id=customer.id, address=address, idempotency_key="addr-1"
    )
    assert saved.default_address == address
    changed = diff(before, snapshot(db))
    assert set(changed) == {"customers", "applied_operations"}
    assert list(changed["customers"]["changed"]) == [(customer.id,)]
    with pytest.raises(BackendError, match="two-letter"):
        await store.update_default_address(
            customer_id=customer.id,
            address=address.model_copy(update={"country": "USA"}),
            idempotency_key="addr-2",
        )


async def _paid_with_stock(data: DemoData, store: DemoStore) -> tuple[Order, LineItem]:
    """A paid order and one of its lines with at least one more unit in stock."""
    for candidate in data.orders:
        if candidate.status is not OrderStatus.PAID or candidate.shipments:
            continue
        order = await store.find_order(candidate.number)
        assert order is not None
        for item in order.line_items:
            product = await store.get_product(item.product_id)
            variant = product.variant(item.sku) if product else None
            if variant is not None and variant.stock >= 1:
                return order, item
    raise AssertionError("no paid order with an item in stock in the demo data")


async def test_a_dearer_change_is_recorded_as_due_not_charged(
    store: DemoStore, demo_data: DemoData, db: Path
) -> None:
    """An extra is never taken silently: the order records it as due (a pending charge, paid
    through a payment link); a later cheaper change cancels what is due before refunding."""
    order, item = await _paid_with_stock(demo_data, store)
    more = OrderEdit(
        line_item_id=item.id,
        action=EditAction.SET_QUANTITY,
        from_sku=item.sku,
        from_quantity=item.quantity,
        quantity=item.quantity + 1,
    )
    price = price_edits(order, [more])
    assert price.difference > 0
    before = snapshot(db)
    done = await store.edit_order(
        order_number=order.number, edits=[more], expected_total=price.total, idempotency_key="up"
    )
    row = diff(before, snapshot(db))["orders"]["changed"]
    changed = next(iter(row.values()))
    assert changed["amount_due"] == (0, int(price.difference * 100))
    assert "refunded_amount" not in changed
    assert (done.amount_due, done.refunded_amount) == (price.difference, order.refunded_amount)
    back = OrderEdit(
        line_item_id=item.id,
        action=EditAction.SET_QUANTITY,
        from_sku=item.sku,
        from_quantity=item.quantity + 1,
        quantity=item.quantity,
    )
    price_back = price_edits(done, [back])
    undone = await store.edit_order(
        order_number=order.number,
        edits=[back],
        expected_total=price_back.total,
        idempotency_key="down",
    )
    assert undone.amount_due == 0 and undone.refunded_amount == order.refunded_amount
    assert undone.total == order.total


async def test_a_partial_swap_splits_the_line(
    store: DemoStore, demo_data: DemoData, db: Path
) -> None:
    """'Swap one of my two tees for L': the line keeps one unit, a new line holds the swapped
    one, and stock moves for that unit only."""
    for candidate in demo_data.orders:
        if candidate.status is not OrderStatus.PAID or candidate.shipments:
            continue
        order = await store.find_order(candidate.number)
        assert order is not None
        for item in order.line_items:
            product = await store.get_product(item.product_id)
            others = [v for v in (product.variants if product else []) if v.sku != item.sku]
            new = next((v for v in others if v.stock >= 1), None)
            if item.quantity >= 2 and new is not None:
                break
        else:
            continue
        break
    else:
        raise AssertionError("no paid order with two units of a swappable item")
    edit = OrderEdit(
        line_item_id=item.id,
        action=EditAction.SWAP_VARIANT,
        from_sku=item.sku,
        from_quantity=item.quantity,
        units=1,
        new_sku=new.sku,
        new_variant_title=new.title,
        new_unit_price=new.price,
    )
    price = price_edits(order, [edit])
    before = snapshot(db)
    done = await store.edit_order(
        order_number=order.number, edits=[edit], expected_total=price.total, idempotency_key="p1"
    )
    changed = diff(before, snapshot(db))
    assert changed["line_items"]["added"] == 1 and changed["line_items"]["removed"] == 0
    lines = {i.id: (i.sku, i.quantity, i.variant_title) for i in done.line_items}
    assert lines[item.id] == (item.sku, item.quantity - 1, item.variant_title)
    assert lines[f"{item.id}+{new.sku}"] == (new.sku, 1, new.title)
    stock = {k[0]: v["stock"] for k, v in changed["variants"]["changed"].items()}
    assert stock[item.sku][1] - stock[item.sku][0] == 1
    assert stock[new.sku][0] - stock[new.sku][1] == 1
    assert done.total == price.total
    again = await store.edit_order(
        order_number=order.number, edits=[edit], expected_total=price.total, idempotency_key="p1"
    )
    assert again == done and diff(before, snapshot(db)) == changed
