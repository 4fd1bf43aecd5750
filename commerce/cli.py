"""`support-agent store ...`: seed, import and inspect the demo store (orders, products)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import create_engine

import settings as settings_module
from commerce.demo.generate import generate_demo_store
from commerce.demo.importer import StoreImportError, export_store, import_store
from commerce.demo.queries import load_products
from commerce.demo.rows import StoreCounts
from commerce.demo.store import DemoStore, ensure_demo_store
from commerce.models import Order, OrderStatus, Product, ReturnRecord
from errors import BackendError

app = typer.Typer(help="Demo store", no_args_is_help=True)


def _settings() -> settings_module.Settings:
    # Built per command, never at import: tests set SUPPORT_* variables before invoking.
    return settings_module.Settings()


def _print_counts(verb: str, path: Path, counts: StoreCounts) -> None:
    typer.echo(f"{verb} {path}: {counts.summary()}")


@app.command()
def seed(
    seed: Annotated[
        int | None, typer.Option(help="Random seed (default: SUPPORT_DEMO_SEED)")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing store file")] = False,
) -> None:
    """Generate the demo store under the data directory."""
    config = _settings()
    path = config.demo_store_path
    if path.exists() and not force:
        typer.echo(f"{path} already exists; pass --force to replace it", err=True)
        raise typer.Exit(1)
    config.ensure_data_dir()
    counts = generate_demo_store(
        path,
        seed=config.demo_seed if seed is None else seed,
        customers=config.demo_customers,
        orders=config.demo_orders,
    )
    _print_counts("Generated", path, counts)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Store JSON file (see docs/store-format.md)")],
) -> None:
    """Replace the store with the contents of a JSON file."""
    config = _settings()
    config.ensure_data_dir()
    try:
        counts = import_store(file, config.demo_store_path)
    except StoreImportError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    _print_counts("Imported", config.demo_store_path, counts)


@app.command()
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the store JSON")],
) -> None:
    """Write the current store in the import format."""
    path = ensure_demo_store(_settings())
    data = export_store(path)
    file.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    typer.echo(f"Exported {len(data['orders'])} orders to {file}")


def _return_summary(order: Order, record: ReturnRecord) -> dict[str, Any]:
    skus = {item.id: item.sku for item in order.line_items}
    return {
        "rma": record.rma,
        "status": record.status,
        "items": [
            {"sku": skus.get(line.line_item_id, line.line_item_id), "quantity": line.quantity}
            for line in record.lines
        ],
        "resolution": record.resolution.value,
    }


def order_summary(order: Order, returns: list[ReturnRecord] | None = None) -> dict[str, Any]:
    """The JSON shape of `store orders --json` (dates ISO 8601, money as strings). A cancelled
    order shows as status "cancelled"; `returns` lists its RMAs, newest first."""
    delivered = order.delivered_at
    shipment = order.shipments[-1] if order.shipments else None
    tracking = None
    if shipment is not None:
        eta = shipment.estimated_delivery
        tracking = {
            "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "url": shipment.tracking_url,
            "status": shipment.status,
            "estimated_delivery": eta.isoformat() if eta else None,
        }
    return {
        "number": order.number,
        "email": order.email,
        "postal_code": order.postal_code,
        "status": order.status.value,
        "created_at": order.created_at.isoformat(),
        "delivered_at": delivered.isoformat() if delivered else None,
        "items": [
            {
                "sku": item.sku,
                "name": item.name,
                "quantity": item.quantity,
                "price": f"{item.unit_price:.2f}",
                "final_sale": item.final_sale,
            }
            for item in order.line_items
        ],
        "tracking": tracking,
        "returns": [_return_summary(order, r) for r in returns or []],
    }


async def _list_orders(
    path: Path, email: str | None, status: OrderStatus | None, limit: int
) -> list[tuple[Order, list[ReturnRecord]]]:
    store = DemoStore.open(path)
    try:
        found = await store.list_orders(email=email, status=status, limit=limit)
        return [(o, await store.list_returns(order_number=o.number)) for o in found]
    finally:
        await store.close()


@app.command()
def orders(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    email: Annotated[str | None, typer.Option(help="Only this customer's orders")] = None,
    status: Annotated[OrderStatus | None, typer.Option(help="Only orders in this state")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first")] = 20,
) -> None:
    """List orders, newest first (generates the demo store if there is none)."""
    path = ensure_demo_store(_settings())
    found = asyncio.run(_list_orders(path, email, status, limit))
    if as_json:
        typer.echo(json.dumps([order_summary(o, r) for o, r in found], indent=2))
        return
    for o, _ in found:
        typer.echo(
            f"{o.number:>7}  {o.created_at:%Y-%m-%d}  {o.status.value:<18} {o.total:>9}  {o.email}"
        )


def product_summary(product: Product) -> dict[str, Any]:
    """The JSON shape of `store products --json`: options, and each variant's price, stock,
    and whether it can be ordered now."""
    return {
        "id": product.id,
        "title": product.title,
        "category": product.category,
        "final_sale": product.final_sale,
        "options": [{"name": o.name, "values": o.values} for o in product.options],
        "variants": [
            {
                "sku": v.sku,
                "options": v.options,
                "price": f"{v.price:.2f}",
                "stock": v.stock,
                "available": v.available,
            }
            for v in product.variants
        ],
    }


async def _products(path: Path, query: str | None, limit: int) -> list[Product]:
    store = DemoStore.open(path)  # upgrades an older file first
    try:
        if query:
            return await store.search_products(query, limit=limit)
    finally:
        await store.close()
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return load_products(conn)[:limit]
    finally:
        engine.dispose()


@app.command()
def products(
    query: Annotated[str | None, typer.Argument(help="Search words, e.g. 'blue fleece'")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many")] = 100,
) -> None:
    """List the catalogue, or search it, with each product's options and availability."""
    path = ensure_demo_store(_settings())
    found = asyncio.run(_products(path, query, limit))
    if as_json:
        typer.echo(json.dumps([product_summary(p) for p in found], indent=2, ensure_ascii=False))
        return
    for p in found:
        options = "; ".join(f"{o.name}: {', '.join(o.values)}" for o in p.options) or "-"
        available = sum(v.available for v in p.variants)
        typer.echo(f"{p.id}  {p.title:<36} {available}/{len(p.variants)} available  {options}")


async def _receive(path: Path, rma: str) -> ReturnRecord:
    store = DemoStore.open(path)
    try:
        return await store.receive_return(rma=rma)
    finally:
        await store.close()


@app.command()
def receive(rma: Annotated[str, typer.Argument(help="The RMA number, e.g. RMA-1043-1")]) -> None:
    """Check a return's parcel in at the warehouse: refunds it (or closes an exchange)."""
    path = ensure_demo_store(_settings())
    try:
        record = asyncio.run(_receive(path, rma.strip().upper()))
    except BackendError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{record.rma}: {record.status} ({record.resolution.value}, {record.refund_amount})")


async def _advance(path: Path, number: str, to: str, days: int) -> Order:
    store = DemoStore.open(path)
    try:
        return await store.advance_order(order_number=number, to=to, days=days)
    finally:
        await store.close()


@app.command()
def advance(
    order: Annotated[str, typer.Argument(help="The order number, e.g. '#1043'")],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="shipped | in_transit | out_for_delivery | exception | delivered | delayed",
        ),
    ],
    days: Annotated[int, typer.Option(min=1, help="With --to delayed: days added")] = 3,
) -> None:
    """Move a demo order along: ship it, add a carrier scan, or delay it (for notifications)."""
    from commerce.demo.advance import STEPS

    if to not in STEPS:
        typer.echo(f"--to must be one of {', '.join(STEPS)}", err=True)
        raise typer.Exit(2)
    path = ensure_demo_store(_settings())
    try:
        updated = asyncio.run(_advance(path, order, to, days))
    except BackendError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(order_summary(updated)))
