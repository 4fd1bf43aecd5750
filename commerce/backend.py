"""The StoreBackend protocol: what the tools may ask of a store. The demo store implements it;
real platforms (Shopify, ...) get adapters behind the same protocol."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol, runtime_checkable

from commerce.edits import OrderEdit
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
)


@runtime_checkable
class StoreBackend(Protocol):
    name: str

    async def find_order(self, number: str) -> Order | None:
        """The order with this store number ('#1043', 'NW-104233'; as the customer typed it, in
        the store's formats), or None. Identity checks are the caller's."""
        ...

    async def order_number_formats(self) -> list[OrderNumberFormat]:
        """The shapes of this store's order numbers (models.OrderNumberFormat), most used first:
        what `normalize_order_number` and `looks_like_order_number` take as `formats`."""
        ...

    async def list_orders(
        self,
        *,
        customer_id: str | None = None,
        email: str | None = None,
        status: OrderStatus | None = None,
        limit: int = 20,
    ) -> list[Order]:
        """Orders, newest first, filtered by customer id, email and/or status."""
        ...

    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def get_product(self, product_id: str) -> Product | None: ...

    async def search_products(self, query: str, limit: int = 5) -> list[Product]:
        """Products matching `query` (title, category, description, option values), best first.
        Catalogue data: needs no verified customer."""
        ...

    # ---- writes: called only by the action gate after policy, confirmation and approval.
    # Each is idempotent on `idempotency_key`: a second call with the same key changes nothing
    # and returns the first call's result.

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
        """Opens an RMA, marks the quantities as being returned and returns the record."""
        ...

    async def list_returns(
        self, *, customer_id: str | None = None, order_number: str | None = None
    ) -> list[ReturnRecord]: ...

    async def cancel_order(self, *, order_number: str, reason: str, idempotency_key: str) -> Order:
        """Cancels an unfulfilled order (status cancelled, cancelled_at, cancel_reason)."""
        ...

    async def update_shipping_address(
        self, *, order_number: str, address: Address, idempotency_key: str
    ) -> Order: ...

    async def edit_order(
        self,
        *,
        order_number: str,
        edits: list[OrderEdit],
        expected_total: Decimal,
        idempotency_key: str,
    ) -> Order:
        """Applies item changes to an unshipped order (commerce/edits.py), all or none. Refuses
        when a line no longer matches the edit's `from_*` or the new total is not
        `expected_total`: the order changed since the customer confirmed."""
        ...

    async def update_default_address(
        self, *, customer_id: str, address: Address, idempotency_key: str
    ) -> Customer:
        """The account's saved address; existing orders keep theirs."""
        ...

    async def ping(self) -> bool:
        """True when the backend answers (used by /readyz)."""
        ...

    async def close(self) -> None: ...
