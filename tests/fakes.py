"""Test doubles: a scripted chat model that asserts, a tiny in-memory store, a canned help
center. A test that reaches a real model provider fails."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from commerce.edits import OrderEdit, lines_after, partial, price_edits, settle, split_line_id
from commerce.models import (
    Address,
    Customer,
    LineItem,
    Order,
    OrderNumberFormat,
    OrderStatus,
    Product,
    Resolution,
    ReturnLine,
    ReturnRecord,
    Shipment,
    TrackingEvent,
    Variant,
    normalize_order_number,
    order_number_formats,
)
from errors import BackendError
from knowledge.types import Passage, SearchResult

# ---- model -------------------------------------------------------------------------------------


class ScriptedChatModel(BaseChatModel):
    """Replies with the queued AIMessages in order, records what it was shown, and fails the test
    when called once too often or (via assert_complete) not often enough."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: list[AIMessage]
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **_: Any) -> ScriptedChatModel:  # type: ignore[override]
        self.bound_tools = [getattr(t, "name", None) or t["name"] for t in tools]
        return self  # the same object, so the test sees calls and the remaining script

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        self.calls.append(list(messages))
        if not self.script:
            raise AssertionError(f"model called {len(self.calls)} times; the script ran out")
        return self.script.pop(0)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        yield from _as_chunks(self._next(messages))

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in _as_chunks(self._next(messages)):
            if run_manager and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def assert_complete(self) -> None:
        assert not self.script, f"{len(self.script)} scripted replies were never requested"


def _as_chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    calls = [
        {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
        for i, c in enumerate(message.tool_calls)
    ]
    yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=calls))
    for word in re.findall(r"\S+\s*|\s+", str(message.content)):
        yield ChatGenerationChunk(message=AIMessageChunk(content=word))


def says(text: str) -> AIMessage:
    return AIMessage(content=text)


def calls(name: str, _id: str = "call_1", **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": _id}])


# ---- store -------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _address(name: str, postal: str, city: str = "Portland") -> Address:
    return Address(
        name=name, line1="1 Main St", city=city, region="OR", postal_code=postal, country="US"
    )


def tiny_store_data() -> tuple[list[Customer], list[Order]]:
    ada = Customer(
        id="c1",
        email="ada@example.com",
        first_name="Ada",
        last_name="Byron",
        created_at=NOW - timedelta(days=300),
        default_address=_address("Ada", "97201"),
    )
    bob = Customer(
        id="c2",
        email="bob@example.com",
        first_name="Bob",
        last_name="Stone",
        created_at=NOW - timedelta(days=200),
        default_address=_address("Bob", "10001"),
    )
    boots = LineItem(
        id="li1",
        product_id="p1",
        sku="TR-42-BLK",
        name="Trail Runner",
        variant_title="42 / Black",
        category="footwear",
        quantity=1,
        unit_price=Decimal("89.00"),
    )
    socks = LineItem(
        id="li2",
        product_id="p2",
        sku="MS-M",
        name="Merino Sock",
        variant_title="M",
        category="underwear & socks",
        quantity=2,
        unit_price=Decimal("14.00"),
        final_sale=True,
    )
    shipped = Shipment(
        id="s1",
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
        tracking_url="https://www.ups.com/track?tracknum=1Z999AA10123456784",
        shipped_at=NOW - timedelta(days=2),
        estimated_delivery=NOW + timedelta(days=2),
        status="in_transit",
        line_item_ids=["li1"],
        events=[
            TrackingEvent(
                at=NOW - timedelta(days=1),
                status="in_transit",
                location="Reno, NV",
                description="In transit",
            )
        ],
    )
    delivered = shipped.model_copy(
        update={
            "id": "s2",
            "delivered_at": NOW - timedelta(days=5),
            "status": "delivered",
            "line_item_ids": ["li1", "li2"],
        }
    )

    def order(oid: str, number: str, customer: Customer, status: OrderStatus, **kw: Any) -> Order:
        return Order(
            id=oid,
            number=number,
            customer_id=customer.id,
            email=customer.email,
            created_at=NOW - timedelta(days=10),
            status=status,
            subtotal=Decimal("117.00"),
            shipping_cost=Decimal("0.00"),
            tax=Decimal("9.36"),
            total=Decimal("126.36"),
            shipping_address=customer.default_address,
            line_items=[boots, socks],
            **kw,
        )

    orders = [
        order("o1", "#1001", ada, OrderStatus.PARTIALLY_SHIPPED, shipments=[shipped]),
        order("o2", "#1002", ada, OrderStatus.DELIVERED, shipments=[delivered]),
        order("o3", "#1003", bob, OrderStatus.PAID),
    ]
    return [ada, bob], orders


def tiny_products() -> list[Product]:
    return [
        Product(
            id="p1",
            title="Trail Runner",
            category="footwear",
            variants=[
                Variant(sku="TR-42-BLK", title="42 / Black", price=Decimal("89.00"), stock=3),
                Variant(sku="TR-43-BLK", title="43 / Black", price=Decimal("89.00"), stock=2),
                Variant(sku="TR-44-BLK", title="44 / Black", price=Decimal("89.00"), stock=0),
            ],
        ),
        Product(
            id="p2",
            title="Merino Sock",
            category="underwear & socks",
            final_sale=True,
            variants=[Variant(sku="MS-M", title="M", price=Decimal("14.00"), stock=9)],
        ),
    ]


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


# ---- knowledge ---------------------------------------------------------------------------------

RETURNS = Passage(
    id="returns#0",
    title="Returns",
    heading="Return window",
    text="You can return unworn items within 30 days of delivery.",
    score=0.71,
    source="returns.md",
)


class CannedKnowledge:
    """Answers questions about returns; knows nothing else."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def search(self, query: str, k: int = 4) -> SearchResult:
        self.queries.append(query)
        if "return" in query.lower():
            return SearchResult(query, [RETURNS], answerable=True, confidence=0.8)
        weak = Passage(
            id="hours#0",
            title="Contact",
            heading="",
            text="We answer Mon-Fri.",
            score=0.12,
            source="contact.md",
        )
        return SearchResult(query, [weak], answerable=False, confidence=0.1)

    def ping(self) -> bool:
        return True
