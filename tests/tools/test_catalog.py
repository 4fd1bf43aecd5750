"""The catalogue tools: no verification needed, every option and per-variant price and
availability, follow-ups that name only an option, and nothing about orders or stock counts."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from commerce.models import InventoryPolicy, Product, Variant
from tests.fakes import MemoryStore
from tests.tools.test_tools import _ctx, call
from tools import default_tools
from tools.catalog import get_product_details, search_products


def _variant(sku: str, size: str, colour: str, stock: int, price: str = "110.00") -> Variant:
    return Variant(
        sku=sku,
        title=f"{size} / {colour}",
        price=Decimal(price),
        stock=stock,
        options={"Size": size, "Color": colour},
    )


def catalog_store() -> MemoryStore:
    """The tiny store with two products that have options."""
    store = MemoryStore()
    fleece = Product(
        id="p10",
        title="Switchback Fleece Jacket",
        category="apparel",
        description="Warm and light.",
        variants=[
            _variant("FL-M-NVY", "M", "Navy", 12),
            _variant("FL-L-NVY", "L", "Navy", 0),
            _variant("FL-M-SKY", "M", "Sky Blue", 2),
            _variant("FL-L-SKY", "L", "Sky Blue", 0, price="120.00").model_copy(
                update={"inventory_policy": InventoryPolicy.CONTINUE}
            ),
        ],
    )
    bottle = Product(
        id="p11",
        title="Insulated Bottle",
        category="accessories",
        variants=[
            Variant(
                sku="BT-500", title="500 ml", price=Decimal("32.00"), stock=5,
                options={"Capacity": "500 ml"},
            ),
            Variant(
                sku="BT-1L", title="1 L", price=Decimal("40.00"), stock=0,
                options={"Capacity": "1 L"},
            ),
        ],
    )  # fmt: skip
    store.products.update({p.id: p for p in (fleece, bottle)})
    return store


def data(message: Any) -> dict[str, Any]:
    assert message.status != "error", message.content
    return dict(json.loads(message.content))


def test_the_catalog_tools_are_read_tools_of_the_agent() -> None:
    names = {t.name for t in default_tools()}
    assert {"search_products", "get_product_details"} <= names
    assert search_products.metadata["kind"] == "read"
    assert get_product_details.metadata["kind"] == "read"


async def test_search_needs_no_verification(make_services: Any) -> None:
    services = await make_services(store=catalog_store())
    ctx = await _ctx(services)
    assert ctx.customer_id is None
    found = data(await call(search_products, ctx, query="fleece jacket"))
    assert [p["title"] for p in found["products"]] == ["Switchback Fleece Jacket"]
    fleece = found["products"][0]
    assert fleece["options"] == {"Size": ["M", "L"], "Color": ["Navy", "Sky Blue"]}
    assert (fleece["price_from"], fleece["price_to"], fleece["available"]) == (
        "110.00",
        "120.00",
        True,
    )


async def test_details_give_every_option_and_each_variants_price_and_availability(
    make_services: Any,
) -> None:
    services = await make_services(store=catalog_store())
    ctx = await _ctx(services)
    details = data(await call(get_product_details, ctx, product="the fleece jacket"))
    assert details["product_id"] == "p10"
    assert details["options"] == [
        {"name": "Size", "values": ["M", "L"]},
        {"name": "Color", "values": ["Navy", "Sky Blue"]},
    ]
    by_sku = {v["sku"]: v for v in details["variants"]}
    assert by_sku["FL-M-NVY"] == {
        "sku": "FL-M-NVY",
        "title": "M / Navy",
        "options": {"Size": "M", "Color": "Navy"},
        "price": "110.00",
        "available": True,
        "stock": "in_stock",
    }
    assert [by_sku[s]["stock"] for s in ("FL-L-NVY", "FL-M-SKY", "FL-L-SKY")] == [
        "sold_out",
        "low_stock",
        "backorder",
    ]
    assert [by_sku[s]["available"] for s in ("FL-L-NVY", "FL-L-SKY")] == [False, True]
    # never a warehouse count, never order or customer data
    text = json.dumps(details)
    assert '"stock": 12' not in text and "ada@example.com" not in text and "#1001" not in text


async def test_a_follow_up_naming_only_an_option_stays_with_the_product(
    make_services: Any,
) -> None:
    services = await make_services(store=catalog_store())
    ctx = await _ctx(services)
    same = data(
        await call(
            get_product_details, ctx, product="is the blue one in stock?", previous_product_id="p10"
        )
    )
    assert same["product_id"] == "p10"
    other = data(
        await call(
            get_product_details, ctx, product="and the insulated bottle?", previous_product_id="p10"
        )
    )
    assert other["product_id"] == "p11"
    by_id = data(await call(get_product_details, ctx, product="p11"))
    assert by_id["title"] == "Insulated Bottle"


async def test_an_unknown_product_is_a_clear_refusal(make_services: Any) -> None:
    services = await make_services(store=catalog_store())
    ctx = await _ctx(services)
    refused = await call(get_product_details, ctx, product="a flux capacitor")
    assert refused.status == "error"
    assert "No product matching 'a flux capacitor'" in str(refused.content)
    empty = data(await call(search_products, ctx, query="flux capacitor"))
    assert empty["products"] == []


async def test_a_question_that_names_no_product_asks_which(make_services: Any) -> None:
    services = await make_services(store=catalog_store())
    ctx = await _ctx(services)
    asked = data(await call(get_product_details, ctx, product="do you have it in M?"))
    assert asked["product_id"] is None and "which product" in asked["note"]
    assert "variants" not in asked
