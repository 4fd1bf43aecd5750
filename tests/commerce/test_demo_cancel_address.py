"""DemoStore cancellations and address changes: exactly the order's rows change, refusals change
nothing, and an idempotency key belongs to one action."""

# ruff: noqa: F811 (fixtures imported from the module that defines them, then requested)

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from commerce.demo.generate import DemoData
from commerce.demo.store import DemoStore
from commerce.models import Address, Order, OrderStatus
from errors import BackendError
from tests.commerce.conftest import ANCHOR
from tests.commerce.demo_write_helpers import (  # noqa: F401 (fixtures)
    db,
    demo_data,
    diff,
    first,
    paid,
    shipped,
    small_db,
    snapshot,
    store,
)


async def test_cancel_changes_exactly_the_order_and_replays(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    order = first(demo_data, paid)
    before = snapshot(db)
    cancelled = await store.cancel_order(
        order_number=order.number,
        reason="Customer request: ordered the wrong size",
        idempotency_key="c-1",
    )
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.cancelled_at == ANCHOR
    assert cancelled.cancel_reason == "Customer request: ordered the wrong size"
    assert cancelled.refunded_amount == order.total  # a captured payment is refunded in full
    changes = diff(before, snapshot(db))
    assert changes.keys() == {"orders", "applied_operations"}
    assert changes["orders"]["changed"][(order.id,)].keys() == {
        "status",
        "cancelled_at",
        "cancel_reason",
        "refunded_amount",
    }
    middle = snapshot(db)
    same = await store.cancel_order(
        order_number=order.number, reason="again", idempotency_key="c-1"
    )
    assert same == cancelled and diff(middle, snapshot(db)) == {}
    with pytest.raises(BackendError, match="already cancelled") as refused:
        await store.cancel_order(order_number=order.number, reason="x", idempotency_key="c-2")
    assert refused.value.retryable is False
    assert diff(middle, snapshot(db)) == {}


async def test_cancel_refuses_shipped_and_unknown_orders(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    before = snapshot(db)
    with pytest.raises(BackendError, match="already shipped"):
        await store.cancel_order(
            order_number=first(demo_data, shipped).number, reason="x", idempotency_key="c-1"
        )
    with pytest.raises(BackendError, match="does not exist"):
        await store.cancel_order(order_number="#99999", reason="x", idempotency_key="c-2")
    assert diff(before, snapshot(db)) == {}


NEW_ADDRESS = Address(
    name="Jo Rivera",
    line1="1 Elm St",
    line2="Apt 2",
    city="Portland",
    region="OR",
    postal_code="97205",
    country="US",
)


async def test_address_change_changes_only_the_shipping_columns(
    store: DemoStore, db: Path, demo_data: DemoData
) -> None:
    order = first(demo_data, paid)
    customer_before = await store.get_customer(order.customer_id)
    before = snapshot(db)
    updated = await store.update_shipping_address(
        order_number=order.number, address=NEW_ADDRESS, idempotency_key="a-1"
    )
    assert updated.shipping_address == NEW_ADDRESS
    changes = diff(before, snapshot(db))
    assert changes.keys() == {"orders", "applied_operations"}
    assert set(changes["orders"]["changed"][(order.id,)]) <= {
        f"ship_{f}" for f in ("name", "line1", "line2", "city", "region", "postal_code", "country")
    }
    assert await store.get_customer(order.customer_id) == customer_before
    other = NEW_ADDRESS.model_copy(update={"line1": "9 Oak Ave"})
    replay = await store.update_shipping_address(
        order_number=order.number, address=other, idempotency_key="a-1"
    )
    assert replay == updated  # the key decides, not the arguments


@pytest.mark.parametrize(
    ("pick", "address", "message"),
    [
        (shipped, NEW_ADDRESS, "already shipped"),
        (lambda o: o.status is OrderStatus.CANCELLED, NEW_ADDRESS, "already cancelled"),
        (paid, NEW_ADDRESS.model_copy(update={"country": "Germany"}), "two-letter"),
        (paid, NEW_ADDRESS.model_copy(update={"line1": " "}), "needs a line1"),
    ],
)
async def test_address_change_refusals_change_nothing(
    store: DemoStore,
    db: Path,
    demo_data: DemoData,
    pick: Callable[[Order], bool],
    address: Address,
    message: str,
) -> None:
    before = snapshot(db)
    with pytest.raises(BackendError, match=message):
        await store.update_shipping_address(
            order_number=first(demo_data, pick).number, address=address, idempotency_key="a-x"
        )
    assert diff(before, snapshot(db)) == {}


async def test_a_key_cannot_be_reused_for_another_action(
    store: DemoStore, demo_data: DemoData
) -> None:
    order = first(demo_data, paid)
    await store.update_shipping_address(
        order_number=order.number, address=NEW_ADDRESS, idempotency_key="k"
    )
    with pytest.raises(BackendError, match="already used for address_change"):
        await store.cancel_order(order_number=order.number, reason="x", idempotency_key="k")
    with pytest.raises(BackendError, match="idempotency key"):
        await store.cancel_order(order_number=order.number, reason="x", idempotency_key="")
