"""Shared by the order-change tests: a Classic Tee in six variants, an order of two tees and a
Trail Runner in any status, a MemoryStore holding it, the change dicts the tool takes
(`sw`, `qty`, `rm`), and a verified conversation that answers yes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agent.confirmation import answer_pending
from commerce.models import LineItem, Order, OrderStatus, Product, Shipment, Variant
from storage import repo
from tests.fakes import NOW, MemoryStore, tiny_store_data
from tools.actions import awaiting_confirmation
from tools.context import SupportContext

S = OrderStatus


def tee(size: str, color: str, stock: int = 5, price: str = "20.00") -> Variant:
    return Variant(
        sku=f"T-{size}-{color[:3].upper()}",
        title=f"{size} / {color}",
        price=Decimal(price),
        stock=stock,
        options={"Size": size, "Color": color},
    )


TEE = Product(
    id="p3",
    title="Classic Tee",
    category="tops",
    variants=[
        tee("M", "Black"),
        tee("L", "Black"),
        tee("XL", "Black", price="22.00"),
        tee("M", "Blue"),
        tee("XL", "Blue", stock=0),
        tee("M", "Heather Grey"),
    ],
)


def line(
    lid: str, sku: str, title: str, quantity: int, price: str, product: str = "p3"
) -> LineItem:
    name = "Classic Tee" if product == "p3" else "Trail Runner"
    return LineItem(
        id=lid,
        product_id=product,
        sku=sku,
        name=name,
        variant_title=title,
        category="tops" if product == "p3" else "footwear",
        quantity=quantity,
        unit_price=Decimal(price),
    )


def order(number: str, status: OrderStatus, customer: str = "c1") -> Order:
    customers, _ = tiny_store_data()
    owner = next(c for c in customers if c.id == customer)
    items = [
        line(f"{number}-a", "T-M-BLA", "M / Black", 2, "20.00"),
        line(f"{number}-b", "T-L-BLA", "L / Black", 1, "20.00"),
        line(f"{number}-c", "TR-42-BLK", "42 / Black", 1, "89.00", product="p1"),
    ]
    shipments = []
    if status in (S.SHIPPED, S.DELIVERED):
        shipments = [
            Shipment(
                id=f"{number}-s",
                carrier="UPS",
                tracking_number="1Z",
                shipped_at=NOW,
                status="in_transit",
                line_item_ids=[i.id for i in items],
            )
        ]
    total = sum((i.total for i in items), Decimal(0))
    return Order(
        id=number,
        number=number,
        customer_id=owner.id,
        email=owner.email,
        created_at=NOW,
        status=status,
        subtotal=total,
        shipping_cost=Decimal(0),
        tax=Decimal(0),
        total=total,
        shipping_address=owner.default_address,
        line_items=items,
        shipments=shipments,
    )


def make_store(*orders: Order) -> MemoryStore:
    store = MemoryStore(extra_orders=list(orders))
    store.products["p3"] = TEE
    return store


def sw(item: str, new: str) -> dict[str, Any]:
    return {"item": item, "change": "swap_variant", "new_variant": new}


def qty(item: str, n: int) -> dict[str, Any]:
    return {"item": item, "change": "set_quantity", "quantity": n}


def rm(item: str) -> dict[str, Any]:
    return {"item": item, "change": "remove_item"}


MB, LB, TR = "Classic Tee (M / Black)", "Classic Tee (L / Black)", "Trail Runner"


async def _verified(services: Any) -> SupportContext:
    async with services.sessions.begin() as session:
        conversation = await repo.create_conversation(session, channel="test")
        await repo.bind_customer(session, conversation.id, "c1")
    return SupportContext(
        conversation_id=conversation.id,
        channel="test",
        deps=services.deps,
        owner_version=0,
        customer_id="c1",
    )


async def _yes(services: Any, ctx: SupportContext) -> Any:
    async with services.sessions.begin() as session:
        yes = await repo.append_message(
            session, conversation_id=ctx.conversation_id, role="customer", text="Yes, go ahead."
        )
        pending = await awaiting_confirmation(session, ctx.conversation_id)
    return await answer_pending(
        services.deps, pending=pending, text="Yes, go ahead.", message_id=yes.id, customer_id="c1"
    )
