"""Variants with options: the models, the demo catalogue, the store file (format 3 and the
upgrade from older files), the import format (version 2; version 1 still imports), Shopify's
selectedOptions, and search_products."""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from commerce.demo import schema as t
from commerce.demo.generate import DemoData
from commerce.demo.importer import StoreImportError, export_store, import_store
from commerce.demo.store import DemoStore
from commerce.models import InventoryPolicy, Product, ProductOption, Variant
from commerce.shopify import ShopifyStore
from tests.commerce.test_importer import doc_example, write
from tests.commerce.test_shopify import DOMAIN, TOKEN, FakeShopify, body


def variant(sku: str, stock: int, **options: str) -> Variant:
    return Variant(
        sku=sku, title=" / ".join(options.values()), price=Decimal("10"), stock=stock,
        options=options,
    )  # fmt: skip


def test_available_means_in_stock_or_sold_on_backorder() -> None:
    assert variant("a", 1).available
    assert not variant("a", 0).available
    backorder = variant("a", 0).model_copy(update={"inventory_policy": InventoryPolicy.CONTINUE})
    assert backorder.available


def test_product_options_are_read_from_the_variants_in_order() -> None:
    product = Product(
        id="p",
        title="Tee",
        category="apparel",
        variants=[
            variant("a", 1, Size="M", Color="Blue"),
            variant("b", 1, Size="L", Color="Blue"),
            variant("c", 1, Size="M", Color="Red"),
        ],
    )
    assert product.options == [
        ProductOption(name="Size", values=["M", "L"]),
        ProductOption(name="Color", values=["Blue", "Red"]),
    ]
    assert product.variant("c") is not None and product.variant("zz") is None


def test_the_demo_catalogue_has_varied_option_kinds(demo_data: DemoData) -> None:
    names = {o.name for p in demo_data.products for o in p.options}
    assert {"Size", "Color", "Capacity", "Material", "Switch type", "Layout"} <= names
    for product in demo_data.products:
        combos = [tuple(v.options.values()) for v in product.variants]
        assert len(set(combos)) == len(combos), product.title  # one variant per combination
        for v in product.variants:
            assert list(v.options) == [o.name for o in product.options], product.title
            assert v.title == (" / ".join(v.options.values()) or "One size")
    bottle = next(p for p in demo_data.products if p.title == "Insulated Bottle")
    prices = {v.options["Capacity"]: v.price for v in bottle.variants}
    assert prices["1 L"] > prices["750 ml"] > prices["500 ml"]  # a bigger bottle costs more
    gift = next(p for p in demo_data.products if p.title == "Gift Card")
    assert all(v.inventory_policy is InventoryPolicy.CONTINUE for v in gift.variants)


async def test_options_survive_the_store_file(demo_db: Path, demo_data: DemoData) -> None:
    store = DemoStore.open(demo_db)
    try:
        keyboard = next(p for p in demo_data.products if p.title == "Cabin Mechanical Keyboard")
        loaded = await store.get_product(keyboard.id)
    finally:
        await store.close()
    assert loaded == keyboard


def _downgrade_to_v2(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE variants DROP COLUMN options")
    conn.execute("ALTER TABLE variants DROP COLUMN inventory_policy")
    conn.execute("ALTER TABLE products DROP COLUMN options")
    conn.execute("ALTER TABLE orders DROP COLUMN payment_method")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'format_version'")
    conn.commit()
    conn.close()


async def test_a_format_2_file_gets_options_from_its_titles(
    demo_db: Path, demo_data: DemoData, tmp_path: Path
) -> None:
    db = tmp_path / "old.db"
    shutil.copy(demo_db, db)
    _downgrade_to_v2(db)
    store = DemoStore.open(db)
    try:
        tee = next(p for p in demo_data.products if p.title == "Everyday Organic Tee")
        loaded = await store.get_product(tee.id)
        order = await store.find_order(demo_data.orders[0].number)
    finally:
        await store.close()
    assert loaded is not None
    assert [v.options for v in loaded.variants] == [v.options for v in tee.variants]
    assert [o.name for o in loaded.options] == ["Size", "Color"]
    assert order is not None and order.payment_method is None
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT value FROM meta WHERE key='format_version'").fetchone() == (
        t.FORMAT_VERSION,
    )
    conn.close()


# --- import format ---------------------------------------------------------------------------


def _v2_example() -> dict[str, Any]:
    data = doc_example()  # the documented example is version 2
    assert data["version"] == 2
    return data


def _v1_example() -> dict[str, Any]:
    """The documented example as a version 1 file: titles, no options."""
    data = doc_example()
    data["version"] = 1
    for product in data["products"]:
        product.pop("options", None)
        for v in product["variants"]:
            v["title"] = " / ".join(v.pop("options").values())
            v.pop("inventory_policy", None)
    for order in data["orders"]:
        order.pop("payment_method", None)
    return data


async def test_version_2_imports_options(tmp_path: Path) -> None:
    data = _v2_example()
    db = tmp_path / "store.db"
    import_store(write(tmp_path, data), db)
    store = DemoStore.open(db)
    try:
        runner = await store.get_product(data["products"][0]["id"])
        card = await store.get_product(data["products"][1]["id"])
        order = await store.find_order(data["orders"][0]["number"])
    finally:
        await store.close()
    assert runner is not None and card is not None and order is not None
    options = [(o.name, o.values) for o in runner.options]
    assert options == [("Size", ["9", "10"]), ("Color", ["Black"])]
    assert runner.variants[0].options == {"Size": "9", "Color": "Black"}
    assert card.variants[0].inventory_policy is InventoryPolicy.CONTINUE
    assert order.payment_method == "Visa •••• 4242"
    exported = export_store(db)
    assert exported["version"] == 2
    assert exported["products"][0]["variants"][0]["options"] == {"Size": "9", "Color": "Black"}


async def test_version_1_still_imports_and_reads_options_from_titles(tmp_path: Path) -> None:
    data = _v1_example()
    db = tmp_path / "store.db"
    import_store(write(tmp_path, data), db)
    store = DemoStore.open(db)
    try:
        runner = await store.get_product(data["products"][0]["id"])
    finally:
        await store.close()
    assert runner is not None
    assert [v.options for v in runner.variants] == [
        {"Size": "9", "Color": "Black"},
        {"Size": "10", "Color": "Black"},
    ]
    assert [v.title for v in runner.variants] == ["9 / Black", "10 / Black"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(version=1), 'need "version": 2 (used in products[0] (p1)'),
        (
            lambda d: d["products"][0]["variants"][0]["options"].update(Size="11"),
            "'11' is not one of the 'Size' values",
        ),
        (
            lambda d: d["products"][0]["variants"][1]["options"].update(Size="9"),
            "have the same options",
        ),
        (
            lambda d: d["products"][0]["variants"][0]["options"].pop("Color"),
            "options ['Size'] must be ['Size', 'Color']",
        ),
    ],
)
def test_bad_options_are_refused_and_change_nothing(
    tmp_path: Path, change: Any, problem: str
) -> None:
    data = _v2_example()
    change(data)
    db = tmp_path / "store.db"
    with pytest.raises(StoreImportError) as err:
        import_store(write(tmp_path, data), db)
    assert problem in str(err.value)
    assert not db.exists()


# --- search ----------------------------------------------------------------------------------


async def test_demo_search_finds_by_title_typo_option_and_category(demo_db: Path) -> None:
    store = DemoStore.open(demo_db)
    try:
        by_title = await store.search_products("do you have the trail runners?")
        typo = await store.search_products("fleece jaket")
        by_option = await store.search_products("keyboard with tactile switches")
        nothing = await store.search_products("do you have it")
        limited = await store.search_products("jacket", limit=1)
    finally:
        await store.close()
    assert by_title[0].title in ("Trail Runner", "Trail Runner GTX")
    assert {p.title for p in by_title[:2]} == {"Trail Runner", "Trail Runner GTX"}
    assert typo[0].title == "Switchback Fleece Jacket"
    assert by_option[0].title == "Cabin Mechanical Keyboard"
    assert nothing == []
    assert len(limited) == 1


# --- Shopify ---------------------------------------------------------------------------------

SHOPIFY_PRODUCT = {
    "id": "gid://shopify/Product/40",
    "title": "Switchback Fleece",
    "productType": "Apparel",
    "description": "Warm.",
    "tags": [],
    "options": [{"name": "Size", "values": ["M", "L"]}, {"name": "Color", "values": ["Navy"]}],
    "variants": {
        "nodes": [
            {
                "sku": f"FL-{size}",
                "title": f"{size} / Navy",
                "price": "110.00",
                "inventoryQuantity": 0,
                "inventoryPolicy": policy,
                "selectedOptions": [
                    {"name": "Size", "value": size},
                    {"name": "Color", "value": "Navy"},
                ],
            }
            for size, policy in (("M", "DENY"), ("L", "CONTINUE"))
        ]
    },
}


async def test_shopify_maps_options_and_searches_with_plain_words() -> None:
    shop = FakeShopify()
    single = copy.deepcopy(SHOPIFY_PRODUCT)
    single["options"] = [{"name": "Title", "values": ["Default Title"]}]
    single["variants"]["nodes"] = [
        {
            **single["variants"]["nodes"][0],
            "selectedOptions": [{"name": "Title", "value": "Default Title"}],
        }
    ]
    shop.on("SearchProducts", body({"products": {"nodes": [SHOPIFY_PRODUCT, single]}}))
    store = ShopifyStore(DOMAIN, TOKEN, httpx.AsyncClient(transport=httpx.MockTransport(shop)))
    found = await store.search_products('fleece" OR title:*', limit=3)
    sent = shop.sent("SearchProducts")[0]
    assert sent["variables"] == {"first": 3, "query": "fleece OR title"}
    fleece, plain = found
    options = [(o.name, o.values) for o in fleece.options]
    assert options == [("Size", ["M", "L"]), ("Color", ["Navy"])]
    assert fleece.variants[0].options == {"Size": "M", "Color": "Navy"}
    assert [v.available for v in fleece.variants] == [False, True]  # L sells on backorder
    assert plain.options == [] and plain.variants[0].options == {}
    assert json.dumps(sent["query"]).count("ProductFields") >= 1


async def test_a_format_3_file_gets_amount_due_zero_and_keeps_its_options(
    demo_db: Path, demo_data: DemoData, tmp_path: Path
) -> None:
    db = tmp_path / "v3.db"
    shutil.copy(demo_db, db)
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE orders DROP COLUMN amount_due")
    conn.execute('UPDATE variants SET options = \'{"Fit": "kept"}\' WHERE rowid = 1')
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'format_version'")
    conn.commit()
    conn.close()
    store = DemoStore.open(db)
    try:
        order = await store.find_order(demo_data.orders[0].number)
    finally:
        await store.close()
    assert order is not None and order.amount_due == 0
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT options FROM variants WHERE rowid = 1").fetchone() == (
        '{"Fit": "kept"}',
    )
    assert conn.execute("SELECT value FROM meta WHERE key='format_version'").fetchone() == ("4",)
    conn.close()
