"""ShopifyStore: the StoreBackend over the Shopify Admin GraphQL API.

Reads map Shopify's orders, fulfilments, returns, customers and products onto our models
(shopify_mapping.py); writes go through shopify_writes.py, which explains why returns use
`returnCreate` and how each write is made idempotent without Shopify idempotency keys; every
request goes through shopify_client.py (cost-based throttling, retries, error mapping)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from commerce import shopify_mapping as m
from commerce import shopify_queries as q
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
    normalize_email,
    normalize_order_number,
    order_number_formats,
)
from commerce.shopify_client import ShopifyGraphQL, Sleep
from commerce.shopify_edits import ShopifyEditor
from commerce.shopify_writes import ShopifyWriter, marker_for, return_instructions
from errors import BackendError

if TYPE_CHECKING:
    from settings import Settings

__all__ = ["ShopifyStore", "marker_for"]


def _gid(kind: str, value: str) -> str:
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


class ShopifyStore:
    name = "shopify"

    def __init__(
        self,
        shop_domain: str,
        access_token: str,
        client: httpx.AsyncClient,
        api_version: str = "2025-10",
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] | None = None,
        owns_client: bool = False,
    ) -> None:
        kwargs: dict[str, Any] = {"sleep": sleep} | ({"clock": clock} if clock else {})
        self.api = ShopifyGraphQL(shop_domain, access_token, client, api_version, **kwargs)
        self._client = client
        self._owns_client = owns_client
        self._writes = ShopifyWriter(self.api, self._raw_order, sleep)
        self._formats: list[OrderNumberFormat] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ShopifyStore:
        """A store with its own HTTP client (closed by `close()`), for the composition root."""
        if not settings.shopify_domain or settings.shopify_access_token is None:
            raise BackendError("SUPPORT_SHOPIFY_DOMAIN and SUPPORT_SHOPIFY_ACCESS_TOKEN are needed")
        return cls(
            settings.shopify_domain,
            settings.shopify_access_token.get_secret_value(),
            httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=5.0)),
            settings.shopify_api_version,
            owns_client=True,
        )

    # ---- reads ------------------------------------------------------------------------

    async def find_order(self, number: str) -> Order | None:
        raw = await self._raw_order(number)
        return m.order(raw) if raw else None

    async def list_orders(
        self,
        *,
        customer_id: str | None = None,
        email: str | None = None,
        status: OrderStatus | None = None,
        limit: int = 20,
    ) -> list[Order]:
        terms = []
        if email is not None:
            terms.append(f"email:{q.quoted(normalize_email(email))}")
        if customer_id is not None:
            terms.append(f"customer_id:{q.quoted(customer_id.rsplit('/', 1)[-1])}")
        first = max(0, min(limit if status is None else 50, 50))
        if first == 0:
            return []
        data = await self.api.execute(
            "ListOrders", q.LIST_ORDERS, {"first": first, "query": " AND ".join(terms) or None}
        )
        orders = [m.order(node) for node in data["orders"]["nodes"]]
        if status is not None:
            orders = [o for o in orders if o.status is OrderStatus(status)]
        return orders[: max(0, limit)]

    async def get_customer(self, customer_id: str) -> Customer | None:
        data = await self.api.execute(
            "GetCustomer", q.GET_CUSTOMER, {"id": _gid("Customer", customer_id)}
        )
        return m.customer(data["customer"]) if data.get("customer") else None

    async def get_product(self, product_id: str) -> Product | None:
        data = await self.api.execute(
            "GetProduct", q.GET_PRODUCT, {"id": _gid("Product", product_id)}
        )
        return m.product(data["product"]) if data.get("product") else None

    async def search_products(self, query: str, limit: int = 5) -> list[Product]:
        """Shopify's own product search (title, type, tags, variant fields), relevance first."""
        # plain words only: the customer's text must not become Shopify search syntax
        words = " ".join(re.sub(r"[^\w\s-]", " ", query).split())[:200]
        first = max(0, min(limit, 20))
        if first == 0 or not words:
            return []
        data = await self.api.execute(
            "SearchProducts", q.SEARCH_PRODUCTS, {"first": first, "query": words}
        )
        return [m.product(node) for node in data["products"]["nodes"]]

    async def list_returns(
        self, *, customer_id: str | None = None, order_number: str | None = None
    ) -> list[ReturnRecord]:
        if order_number is not None:
            raw = await self._raw_order(order_number)
            raws = [raw] if raw else []
            if raw and customer_id is not None and m.order(raw).customer_id != customer_id:
                raws = []
        elif customer_id is not None:
            data = await self.api.execute(
                "ListOrders",
                q.LIST_ORDERS,
                {"first": 20, "query": f"customer_id:{q.quoted(customer_id.rsplit('/', 1)[-1])}"},
            )
            raws = data["orders"]["nodes"]
        else:
            raise BackendError("list_returns needs a customer or an order")
        records = []
        for raw in raws:
            parent = m.order(raw)
            for ret in raw.get("returns", {}).get("nodes", []):
                records.append(m.return_record(ret, parent, instructions=return_instructions))
        return sorted(records, key=lambda r: r.created_at, reverse=True)

    async def ping(self) -> bool:
        try:
            await self.api.execute("Ping", q.PING)
        except BackendError:
            return False
        return True

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # ---- writes: see shopify_writes.py for how each is made idempotent ----------------------

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
        """Opens a return with `returnCreate` (status OPEN); the refund follows in Shopify."""
        return await self._writes.create_return(
            order_number=order_number,
            lines=lines,
            reason=reason,
            resolution=resolution,
            refund_amount=refund_amount,
            restocking_fee=restocking_fee,
            idempotency_key=idempotency_key,
        )

    async def cancel_order(self, *, order_number: str, reason: str, idempotency_key: str) -> Order:
        return await self._writes.cancel_order(
            order_number=order_number, reason=reason, idempotency_key=idempotency_key
        )

    async def update_shipping_address(
        self, *, order_number: str, address: Address, idempotency_key: str
    ) -> Order:
        return await self._writes.update_shipping_address(
            order_number=order_number, address=address, idempotency_key=idempotency_key
        )

    async def edit_order(
        self,
        *,
        order_number: str,
        edits: list[OrderEdit],
        expected_total: Decimal,
        idempotency_key: str,
    ) -> Order:
        """Shopify's order-editing session (shopify_edits.py)."""
        return await ShopifyEditor(self._writes, self.get_customer).edit_order(
            order_number=order_number,
            edits=edits,
            expected_total=expected_total,
            idempotency_key=idempotency_key,
        )

    async def update_default_address(
        self, *, customer_id: str, address: Address, idempotency_key: str
    ) -> Customer:
        return await ShopifyEditor(self._writes, self.get_customer).update_default_address(
            customer_id=customer_id, address=address, idempotency_key=idempotency_key
        )

    async def order_number_formats(self) -> list[OrderNumberFormat]:
        """The shop's order-number formats ("#{n}" by default; a shop may set a prefix and
        suffix), learned once from the names of its latest orders."""
        if self._formats is None:
            data = await self.api.execute("RecentOrderNames", q.RECENT_ORDER_NAMES)
            names = [node["name"] for node in data["orders"]["nodes"] if node.get("name")]
            self._formats = order_number_formats(names)
        return self._formats

    async def _raw_order(self, number: str) -> dict[str, Any] | None:
        """The order named `number`: as written first ("#1043"), then, on a miss, in the shop's
        formats ("104233" -> "NW-104233"), so the common case costs one request."""
        plain = normalize_order_number(number)
        if plain is not None:
            raw = await self._order_named(plain)
            if raw is not None:
                return raw
        fitted = normalize_order_number(number, await self.order_number_formats())
        if fitted is None or fitted == plain:
            return None
        return await self._order_named(fitted)

    async def _order_named(self, name: str) -> dict[str, Any] | None:
        term = name if re.fullmatch(r"#?\w+", name) else q.quoted(name)
        data = await self.api.execute("FindOrder", q.FIND_ORDER, {"query": f"name:{term}"})
        nodes = [n for n in data["orders"]["nodes"] if n.get("name") == name]
        return nodes[0] if nodes else None
