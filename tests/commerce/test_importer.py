"""The merchant JSON format: the documented example, round trips, and refusals that change
nothing."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from commerce.demo.generate import generate_demo_store
from commerce.demo.importer import StoreImportError, export_store, import_store
from commerce.demo.store import DemoStore
from commerce.models import OrderStatus
from tests.commerce.conftest import ANCHOR

DOC = Path(__file__).resolve().parents[2] / "docs" / "store-format.md"


def doc_example() -> dict[str, Any]:
    """The complete example in docs/store-format.md: the docs cannot drift from the code."""
    block = re.search(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block is not None
    return json.loads(block.group(1))


def write(tmp_path: Path, data: Any, name: str = "store.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("small") / "demo_store.db"
    generate_demo_store(path, seed=3, anchor=ANCHOR, customers=25, orders=80)
    return path


async def test_documented_example_imports(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    counts = import_store(write(tmp_path, doc_example()), db)
    assert (counts.customers, counts.products, counts.variants, counts.orders) == (1, 2, 3, 2)
    store = DemoStore.open(db)
    try:
        first = await store.find_order("1001")
        second = await store.find_order("#1002")
    finally:
        await store.close()
    assert first is not None and second is not None
    assert first.email == "jo.rivera@example.com"  # taken from the customer, normalised
    assert [li.name for li in first.line_items] == ["Trail Runner", "Gift Card"]
    assert [li.final_sale for li in first.line_items] == [False, True]
    assert first.subtotal == Decimal("179.00") and first.total == Decimal("191.98")
    assert first.delivered_at is not None and first.delivered_at.day == 24
    assert first.shipments[0].line_item_ids == [li.id for li in first.line_items]
    assert second.number == "#1002" and second.status is OrderStatus.PAID
    assert second.total == Decimal("146.30")  # 129.00 + 7.95 shipping + 9.35 tax
    assert second.created_at.hour == 15  # -07:00 converted to UTC
    assert second.shipping_address.postal_code == "97205"  # the customer's default


def test_export_import_round_trip(small_db: Path, tmp_path: Path) -> None:
    exported = export_store(small_db)
    assert len(exported["orders"]) == 80 and exported["orders"][0]["number"] == "#1001"
    copy_db = tmp_path / "copy.db"
    import_store(write(tmp_path, exported), copy_db)
    assert export_store(copy_db) == exported


def test_shipment_refers_to_items_by_position(tmp_path: Path) -> None:
    data = doc_example()
    data["orders"][0]["status"] = "partially_shipped"
    data["orders"][0]["shipments"][0]["line_item_ids"] = ["2"]
    db = tmp_path / "store.db"
    import_store(write(tmp_path, data), db)
    order = next(o for o in export_store(db)["orders"] if o["number"] == "#1001")
    assert order["shipments"][0]["line_item_ids"] == [order["line_items"][1]["id"]]


BAD_CASES = [
    (
        lambda d: d["orders"][0]["line_items"][0].update(quantity=0),
        "orders[0] (#1001).line_items[0] (TR-9-BLK).quantity: Input should be greater than",
    ),
    (
        lambda d: d["orders"][1].update(customer_id="c9"),
        "orders[1] (1002): unknown customer_id 'c9'",
    ),
    (
        lambda d: d["orders"][0]["line_items"][0].update(sku="NOPE"),
        "orders[0] (#1001).line_items[0]: unknown sku 'NOPE'",
    ),
    (
        lambda d: d["orders"][0].update(total="10.00"),
        "orders[0] (#1001): total 10.00 != subtotal + shipping_cost + tax 191.98",
    ),
    (
        lambda d: d["orders"][1].update(number="#1001"),
        "orders[1] (#1001): duplicate order number '#1001'",
    ),
    (lambda d: d["customers"][0].update(email="not-an-email"), "customers[0] (c1).email"),
    (
        lambda d: d["orders"][0].update(created_at="2025-05-20T15:30:00"),
        "orders[0] (#1001).created_at: Input should have timezone info",
    ),
    (
        lambda d: d["orders"][0].update(statuz="delivered"),
        "orders[0] (#1001).statuz: Extra inputs are not permitted",
    ),
    (
        lambda d: d["orders"][0]["line_items"][0].update(returned_quantity=2),
        "returned_quantity: Value error, cannot exceed quantity (1)",
    ),
    (
        lambda d: d["orders"][0]["shipments"][0].update(line_item_ids=["7"]),
        "orders[0] (#1001).shipments[0]: unknown line item id '7'",
    ),
    (
        lambda d: d["products"][1]["variants"][0].update(price="50.001"),
        "products[1] (p2).variants[0] (GC-50).price: Value error, money must have at most 2",
    ),
]


@pytest.mark.parametrize(("break_it", "message"), BAD_CASES)
def test_bad_file_names_the_record_and_changes_nothing(
    small_db: Path, tmp_path: Path, break_it: Any, message: str
) -> None:
    db = tmp_path / "demo_store.db"
    db.write_bytes(small_db.read_bytes())
    before = sha(db)
    data = copy.deepcopy(doc_example())
    break_it(data)
    with pytest.raises(StoreImportError) as caught:
        import_store(write(tmp_path, data, "broken.json"), db)
    assert message in str(caught.value)
    assert str(caught.value).startswith("broken.json is not a valid store file")
    assert sha(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.json", "demo_store.db"]


def test_invalid_json_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "store.json"
    path.write_text('{"customers": [', encoding="utf-8")
    with pytest.raises(StoreImportError, match=r"not valid JSON: line 1 column 16"):
        import_store(path, tmp_path / "store.db")
    with pytest.raises(StoreImportError, match="file not found"):
        import_store(tmp_path / "missing.json", tmp_path / "store.db")
    assert not (tmp_path / "store.db").exists()
