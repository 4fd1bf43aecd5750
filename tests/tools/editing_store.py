"""MemoryStore with the order-edit and saved-address writes, idempotent on the key like a real
backend, and refusing what the demo store refuses (shipped orders, lines changed since)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from commerce.edits import OrderEdit, lines_after, price_edits
from commerce.models import Address, Customer, Order, OrderStatus
from errors import BackendError
from tests.fakes import MemoryStore


class EditingStore(MemoryStore):
    def __init__(self, extra_orders: list[Order] | None = None) -> None:
        super().__init__(extra_orders)
        self.edits: list[tuple[str, list[OrderEdit]]] = []  # what was executed, in order
        self.history: list[tuple[Order, list[OrderEdit], Order]] = []  # before, edits, after

    async def edit_order(
        self,
        *,
        order_number: str,
        edits: list[OrderEdit],
        expected_total: Decimal,
        idempotency_key: str,
    ) -> Order:
        if idempotency_key in self.applied:
            return self.applied[idempotency_key]
        order = self.orders[order_number]
        if order.status not in (OrderStatus.PAID, OrderStatus.PENDING_PAYMENT) or order.shipments:
            raise BackendError("order already shipped")
        try:
            after = lines_after(order, edits)
        except ValueError as exc:
            raise BackendError(str(exc)) from exc
        if not after:
            raise BackendError("the order would be empty")
        titles = {e.line_item_id: e.new_variant_title for e in edits if e.new_variant_title}
        items = []
        for item in order.line_items:
            if item.id not in after:
                continue
            sku, quantity, price = after[item.id]
            variant = titles.get(item.id, item.variant_title)
            items.append(
                item.model_copy(
                    update={
                        "sku": sku,
                        "quantity": quantity,
                        "unit_price": price,
                        "variant_title": variant,
                    }
                )
            )
        price = price_edits(order, edits)
        if price.total != expected_total:
            raise BackendError("order changed since the customer confirmed; nothing was changed")
        changed = order.model_copy(
            update={
                "line_items": items,
                "subtotal": price.subtotal,
                "tax": price.tax,
                "total": price.total,
            }
        )
        self.orders[order_number] = self.applied[idempotency_key] = changed
        self.edits.append((order_number, list(edits)))
        self.history.append((order, list(edits), changed))
        return changed

    async def update_default_address(
        self, *, customer_id: str, address: Address, idempotency_key: str
    ) -> Customer:
        if idempotency_key in self.applied:
            return self.applied[idempotency_key]
        customer = self.customers[customer_id].model_copy(update={"default_address": address})
        self.customers[customer_id] = self.applied[idempotency_key] = customer
        return customer


def kind_of(value: Any) -> str:
    """What a stored write was, for the property tests' bookkeeping."""
    return type(value).__name__
