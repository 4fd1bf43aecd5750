"""Catalogue lookups: products, their options, prices and availability.

Catalogue data is public (it is on the storefront), so these READ tools need no verified
customer, and they never touch an order or a customer: stock is told as in stock / low / sold
out / on backorder, never as a warehouse count."""

from __future__ import annotations

from typing import Any

from langchain.tools import ToolRuntime

from commerce.demo.search import title_matches
from commerce.models import InventoryPolicy, Product, Variant
from errors import ToolError
from tools.base import ToolKind, support_tool
from tools.context import SupportContext

LOW_STOCK = 3  # at or below: "only a few left"


def stock_status(variant: Variant) -> str:
    if variant.stock > LOW_STOCK:
        return "in_stock"
    if variant.stock > 0:
        return "low_stock"
    return "backorder" if variant.inventory_policy is InventoryPolicy.CONTINUE else "sold_out"


def product_summary(product: Product) -> dict[str, Any]:
    prices = [v.price for v in product.variants] or [0]
    return {
        "product_id": product.id,
        "title": product.title,
        "category": product.category,
        "options": {o.name: o.values for o in product.options},
        "price_from": f"{min(prices):.2f}",
        "price_to": f"{max(prices):.2f}",
        "available": any(v.available for v in product.variants),
    }


def product_view(product: Product) -> dict[str, Any]:
    """Everything a customer may know about a product: every option and, per variant, its
    options, price and availability."""
    return {
        **product_summary(product),
        "description": product.description,
        "final_sale": product.final_sale,
        "options": [{"name": o.name, "values": o.values} for o in product.options],
        "variants": [
            {
                "sku": v.sku,
                "title": v.title,
                "options": v.options,
                "price": f"{v.price:.2f}",
                "available": v.available,
                "stock": stock_status(v),
            }
            for v in product.variants
        ],
    }


@support_tool(ToolKind.READ, label="Searching our catalogue...")
async def search_products(
    query: str, runtime: ToolRuntime[SupportContext], limit: int = 5
) -> dict[str, Any]:
    """Search the store's products by name, category, description or option value.

    Catalogue data only; no verification needed. Use get_product_details for the variants of
    one product (sizes, colours and other options with their price and availability).

    Args:
        query: What the customer is looking for, e.g. "trail runners" or "blue fleece".
        limit: How many products at most (1 to 10).
    """
    found = await runtime.context.deps.store.search_products(query, limit=max(1, min(limit, 10)))
    return {"query": query, "products": [product_summary(p) for p in found]}


@support_tool(ToolKind.READ, label="Checking the product...")
async def get_product_details(
    product: str,
    runtime: ToolRuntime[SupportContext],
    previous_product_id: str | None = None,
) -> dict[str, Any]:
    """One product with every option name and value, and each variant's price and availability.

    Answers "do you have it in M?", "is the blue one in stock?", "how much is the fleece?".
    Catalogue data only; no verification needed; never say how many units are in stock.

    Args:
        product: The product's id, or its name as the customer wrote it ("the trail runners").
        previous_product_id: The id of the product the conversation was about, for follow-ups
            that name none ("is the blue one in stock?").
    """
    store = runtime.context.deps.store
    found = await store.get_product(product.strip()) if product.strip() else None
    others: list[Product] = []
    if found is None:
        hits = await store.search_products(product, limit=4)
        if hits and title_matches(hits[0], product):
            found, others = hits[0], hits[1:]
        elif previous_product_id:
            # a follow-up names an option ("the blue one"), not a product: stay with the last one
            found = await store.get_product(previous_product_id)
        elif hits:
            # "do you have it in M?" with nothing before it: many products come in M
            return {
                "product_id": None,
                "note": "The message names no product. Ask the customer which product they mean.",
            }
    if found is None:
        raise ToolError(
            f"No product matching {product!r} was found in the catalogue. Ask the customer for "
            "the product's name as it appears on the website."
        )
    view = product_view(found)
    view["other_matches"] = [p.title for p in others if title_matches(p, product)]
    return view
