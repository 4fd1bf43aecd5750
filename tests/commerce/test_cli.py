"""`support-agent store ...` through typer's CliRunner, in a temporary data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from commerce.cli import app

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SUPPORT_DEMO_CUSTOMERS", "30")
    monkeypatch.setenv("SUPPORT_DEMO_ORDERS", "120")
    return tmp_path / "data"


def test_seed_prints_counts_and_refuses_to_overwrite(data_dir: Path) -> None:
    result = runner.invoke(app, ["seed", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "30 customers" in result.output and "120 orders" in result.output
    db = data_dir / "demo_store.db"
    assert db.is_file()

    again = runner.invoke(app, ["seed"])
    assert again.exit_code == 1
    assert "--force" in again.output

    stamp = db.read_bytes()
    forced = runner.invoke(app, ["seed", "--seed", "6", "--force"])
    assert forced.exit_code == 0
    assert db.read_bytes() != stamp  # another seed, another store


def test_orders_json_shape(data_dir: Path) -> None:
    result = runner.invoke(app, ["orders", "--json", "--limit", "200"])  # generates the store
    assert result.exit_code == 0, result.output
    orders = json.loads(result.output)
    assert len(orders) == 120
    assert (data_dir / "demo_store.db").is_file()
    first = orders[0]
    assert set(first) == {
        "number",
        "email",
        "postal_code",
        "status",
        "created_at",
        "delivered_at",
        "items",
        "tracking",
        "returns",
    }
    assert orders[0]["created_at"] >= orders[-1]["created_at"]  # newest first
    for order in orders:
        for item in order["items"]:
            assert set(item) == {"sku", "name", "quantity", "price", "final_sale"}
            assert isinstance(item["price"], str) and item["price"].count(".") == 1
            assert len(item["price"].split(".")[1]) == 2
        if order["status"] in ("pending_payment", "paid", "cancelled"):
            assert order["tracking"] is None
        if order["status"] == "delivered":
            assert order["delivered_at"] and order["tracking"]["status"] == "delivered"
    shipped = [o for o in orders if o["status"] == "shipped"]
    assert shipped, "120 orders include some in transit"
    tracking = shipped[0]["tracking"]
    assert set(tracking) == {"carrier", "tracking_number", "url", "status", "estimated_delivery"}
    assert tracking["tracking_number"] in tracking["url"]


@pytest.mark.usefixtures("data_dir")
def test_orders_filters() -> None:
    everything = json.loads(runner.invoke(app, ["orders", "--json", "--limit", "200"]).output)
    email = everything[10]["email"]
    mine = json.loads(runner.invoke(app, ["orders", "--json", "--email", email.upper()]).output)
    assert mine and {o["email"] for o in mine} == {email}
    assert [o["number"] for o in mine] == [o["number"] for o in everything if o["email"] == email][
        :20
    ]
    delivered = runner.invoke(app, ["orders", "--json", "--status", "delivered", "--limit", "3"])
    assert [o["status"] for o in json.loads(delivered.output)] == ["delivered"] * 3
    bad = runner.invoke(app, ["orders", "--status", "lost"])
    assert bad.exit_code == 2


@pytest.mark.usefixtures("data_dir")
def test_orders_text() -> None:
    result = runner.invoke(app, ["orders", "--limit", "2"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and lines[0].strip().startswith("#1120")


@pytest.mark.usefixtures("data_dir")
def test_import_and_export(tmp_path: Path) -> None:
    assert runner.invoke(app, ["seed"]).exit_code == 0
    exported = tmp_path / "store.json"
    result = runner.invoke(app, ["export", str(exported)])
    assert result.exit_code == 0 and "120 orders" in result.output
    data = json.loads(exported.read_text())
    data["orders"] = data["orders"][:10]
    exported.write_text(json.dumps(data))

    imported = runner.invoke(app, ["import", str(exported)])
    assert imported.exit_code == 0, imported.output
    assert "10 orders" in imported.output
    listed = json.loads(runner.invoke(app, ["orders", "--json", "--limit", "50"]).output)
    assert [o["number"] for o in listed] == [f"#{n}" for n in range(1010, 1000, -1)]


def test_import_invalid_file_exits_1_and_keeps_store(data_dir: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["seed"]).exit_code == 0
    db = data_dir / "demo_store.db"
    before = db.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"orders": [{"number": "#1", "customer_id": "x"}]}))
    result = runner.invoke(app, ["import", str(bad)])
    assert result.exit_code == 1
    assert "bad.json is not a valid store file" in result.output
    assert "orders[0] (#1).created_at: Field required" in result.output
    assert db.read_bytes() == before


@pytest.mark.usefixtures("data_dir")
def test_products_lists_and_searches_the_catalogue_with_options() -> None:
    listed = runner.invoke(app, ["products", "--json"])
    assert listed.exit_code == 0, listed.output
    products = json.loads(listed.output)
    keyboard = next(p for p in products if p["title"] == "Cabin Mechanical Keyboard")
    assert [o["name"] for o in keyboard["options"]] == ["Switch type", "Layout"]
    variant = keyboard["variants"][0]
    assert set(variant) == {"sku", "options", "price", "stock", "available"}
    assert variant["available"] == (variant["stock"] > 0)
    found = runner.invoke(app, ["products", "fleece jacket", "--limit", "1"])
    assert found.exit_code == 0, found.output
    assert "Switchback Fleece Jacket" in found.output and "Size: XS, S, M, L, XL" in found.output
    assert len(found.output.strip().splitlines()) == 1
