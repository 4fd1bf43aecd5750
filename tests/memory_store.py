"""MemoryStore: a store backend in memory over the tiny store, recording its lookups and writes.
Writes are idempotent on the key and refuse what the demo store refuses, like a real backend."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from commerce.edits import OrderEdit, lines_after, partial, price_edits, settle, split_line_id
from commerce.models import (
    Address,
    Customer,
    Order,
    OrderNumberFormat,
    OrderStatus,
    Product,
    Resolution,
    ReturnLine,
    ReturnRecord,
    normalize_order_number,
    order_number_formats,
)
from errors import BackendError
from tests.tiny_store import NOW, tiny_products, tiny_store_data


class MemoryStore:
    name = "memory"

    def __init__(self, extra_orders: list[Order] | None = None) -> None:
        customers, orders = tiny_store_data()
        orders += extra_orders or []
        self.customers = {c.id: c for c in customers}
        self.orders = {o.number: o for o in orders}
        self.lookups: list[str] = []
        self.returns: list[ReturnRecord] = []
        self.applied: dict[str, Any] = {}
        self.products = {p.id: p for p in tiny_products()}
        self.edits: list[tuple[str, list[OrderEdit]]] = []  # executed item changes, in order
        self.history: list[tuple[Order, list[OrderEdit], Order]] = []  # before, edits, after

    async def find_order(self, number: str) -> Order | None:
        """Read in the store's own formats like a real backend ("nw 104233" -> "NW-104233")."""
        self.lookups.append(number)
        formats = order_number_formats(self.orders)
        normal = (normalize_order_number(number, formats) or normalize_order_number(number)
                  if number else None)  # fmt: skip
        return self.orders.get(normal or "")

    async def list_orders(
        self,
        *,
        customer_id: str | None = None,
        email: str | None = None,
        status: OrderStatus | None = None,
        limit: int = 20,
    ) -> list[Order]:
        found = [
            o
            for o in self.orders.values()
            if (customer_id is None or o.customer_id == customer_id)
            and (email is None or o.email == email)
            and (status is None or o.status == status)
        ]
        return sorted(found, key=lambda o: o.created_at, reverse=True)[:limit]

    async def get_customer(self, customer_id: str) -> Customer | None:
        return self.customers.get(customer_id)

    async def get_product(self, product_id: str) -> Product | None:
        return self.products.get(product_id)

    async def order_number_formats(self) -> list[OrderNumberFormat]:
        return order_number_formats(self.orders)

    async def search_products(self, query: str, limit: int = 5) -> list[Product]:
        from commerce.demo.search import search_catalog

        return search_catalog(self.products.values(), query, limit=limit)

    # writes, idempotent on the key like a real backend
    async def create_return(
        self,
        *,
        order_number: str,
        lines: list[ReturnLine],
        reason: str,
        resolution: Resolution,
        refund_amount: Decimal,
        restocking_fee: Decimal,
        idempotency_key: str,
    ) -> ReturnRecord:
        if idempotency_key in self.applied:
            return self.applied[idempotency_key]
        order = self.orders[order_number]
        items = {i.id: i for i in order.line_items}
        for line in lines:
            item = items[line.line_item_id]
            if line.quantity > item.quantity - item.returned_quantity:
                raise BackendError("quantity exceeds what can be returned")
            items[item.id] = item.model_copy(
                update={"returned_quantity": item.returned_quantity + line.quantity}
            )
        self.orders[order_number] = order.model_copy(
            update={"line_items": [items[i.id] for i in order.line_items]}
        )
        record = ReturnRecord(
            id=f"r{len(self.returns) + 1}",
            rma=f"RMA-{order_number[1:]}-{len(self.returns) + 1}",
            order_number=order_number,
            customer_id=order.customer_id,
            lines=lines,
            reason=reason,
            resolution=resolution,
            refund_amount=refund_amount,
            restocking_fee=restocking_fee,
            instructions="Print the prepaid label we emailed.",
            created_at=NOW,
            idempotency_key=idempotency_key,
        )
        self.returns.append(record)
        self.applied[idempotency_key] = record
        return record

    async def list_returns(
        self, *, customer_id: str | None = None, order_number: str | None = None
    ) -> list[ReturnRecord]:
        return [
            r
            for r in self.returns
            if (customer_id is None or r.customer_id == customer_id)
            and (order_number is None or r.order_number == order_number)
        ]

    async def cancel_order(self, *, order_number: str, reason: str, idempotency_key: str) -> Order:
        if idempotency_key in self.applied:
            return self.applied[idempotency_key]
        order = self.orders[order_number]
        if order.status not in (OrderStatus.PAID, OrderStatus.PENDING_PAYMENT):
            raise BackendError("order already shipped")
        order = order.model_copy(
            update={"status": OrderStatus.CANCELLED, "cancelled_at": NOW, "cancel_reason": reason}
        )
        self.orders[order_number] = self.applied[idempotency_key] = order
        return order

    async def update_shipping_address(
        self, *, order_number: str, address: Address, idempotency_key: str
    ) -> Order:
        if idempotency_key in self.applied:
            return self.applied[idempotency_key]
        order = self.orders[order_number].model_copy(update={"shipping_address": address})
        self.orders[order_number] = self.applied[idempotency_key] = order
        return order

    # the order-edit and saved-address writes: idempotent on the key like a real backend, and
    # refusing what the demo store refuses (shipped orders, lines changed since the summary)
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
        split = {split_line_id(e): e for e in edits if partial(e, e.from_quantity or 0)}
        kept = {e.line_item_id for e in split.values()}  # their line keeps its own variant
        titles = {k: v for k, v in titles.items() if k not in kept}
        items = []
        sources = {i.id: i for i in order.line_items}
        for new_id, edit in split.items():  # a partial swap's units: a new line
            sources[new_id] = sources[edit.line_item_id].model_copy(update={"id": new_id})
            titles[new_id] = edit.new_variant_title or ""
        for item in sources.values():
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
                **dict(zip(("refunded_amount", "amount_due"), settle(order, price), strict=True)),
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

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


def kind_of(value: Any) -> str:
    """What a stored write was, for the property tests' bookkeeping."""
    return type(value).__name__
