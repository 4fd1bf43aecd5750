"""The StoreBackend protocol: what the tools may ask of a store. The demo store implements it;
real platforms (Shopify, ...) get adapters behind the same protocol."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from commerce.models import Customer, Order, OrderStatus, Product


@runtime_checkable
class StoreBackend(Protocol):
    name: str

    async def find_order(self, number: str) -> Order | None:
        """The order with this store number ('#1043'), or None. Identity checks are the caller's."""
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

    async def ping(self) -> bool:
        """True when the backend answers (used by /readyz)."""
        ...

    async def close(self) -> None: ...
