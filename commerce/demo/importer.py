"""The merchant JSON format (docs/store-format.md): import into, and export from, a store file.

Import validates the whole file before touching anything and builds the new store into a temp
file that replaces the old one only on success, so a bad file changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import create_engine

from commerce.demo import queries
from commerce.demo.import_format import FORMAT, OrderIn, ProductIn, StoreFile
from commerce.demo.rows import StoreCounts, build_store
from commerce.demo.schema import FORMAT_VERSION
from commerce.demo.upgrade import options_from_title
from commerce.models import (
    Address,
    Customer,
    LineItem,
    Order,
    Product,
    Shipment,
    TrackingEvent,
    Variant,
    normalize_order_number,
)
from errors import SupportAgentError

MAX_PROBLEMS = 20


class StoreImportError(SupportAgentError):
    """The import file is not a valid store; `problems` names each offending record."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        lines = [f"{source} is not a valid store file:", *(f"  - {p}" for p in shown)]
        if more:
            lines.append(f"  ... and {more} more")
        super().__init__("\n".join(lines))


def _record_label(raw: Any, loc: tuple[int | str, ...]) -> str:
    """'orders[3] (#1004) line_items[0].quantity' from a pydantic error location."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            parts[-1] += f"[{key}]"
            node = node[key] if isinstance(node, list) and key < len(node) else None
            ident = (
                node.get("number") or node.get("id") or node.get("sku")
                if isinstance(node, dict)
                else None
            )
            if ident:
                parts[-1] += f" ({ident})"
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "file"


def _order_problems(
    index: int,
    order: OrderIn,
    customers: dict[str, Customer],
    catalog: dict[str, tuple[Product, Variant]],
) -> list[str]:
    label = f"orders[{index}] ({order.number})"
    problems = []
    customer = customers.get(order.customer_id)
    if customer is None:
        problems.append(f"{label}: unknown customer_id {order.customer_id!r}")
    elif order.shipping_address is None and customer.default_address is None:
        problems.append(f"{label}: no shipping_address and the customer has no default_address")
    item_ids = set()
    for i, item in enumerate(order.line_items):
        item_ids.add(item.id or f"{i + 1}")
        if item.sku not in catalog and (item.name is None or item.unit_price is None):
            problems.append(
                f"{label}.line_items[{i}]: unknown sku {item.sku!r} "
                "(add it to products, or give the item a name and unit_price)"
            )
    for i, shipment in enumerate(order.shipments):
        for li_id in shipment.line_item_ids or []:
            if li_id not in item_ids:
                problems.append(f"{label}.shipments[{i}]: unknown line item id {li_id!r}")
    if normalize_order_number(order.number) is None:
        problems.append(
            f"{label}: not an order number: use letters, then 3 to 12 digits, then an optional "
            "suffix, e.g. '#1043', 'NW-104233', 'SO12345', '1043-A'"
        )
    return problems


def _resolve_order(
    order: OrderIn, customers: dict[str, Customer], catalog: dict[str, tuple[Product, Variant]]
) -> Order:
    number = normalize_order_number(order.number) or order.number
    order_id = order.id or f"ord_{number.lstrip('#')}"
    items = []
    for i, item in enumerate(order.line_items):
        product, variant = catalog.get(item.sku, (None, None))
        price = item.unit_price
        if price is None:
            assert variant is not None  # _order_problems demands a price for unknown SKUs
            price = variant.price
        items.append(
            LineItem(
                id=item.id or f"{order_id}-{i + 1}",
                product_id=item.product_id or (product.id if product else ""),
                sku=item.sku,
                name=item.name or (product.title if product else item.sku),
                variant_title=item.variant_title or (variant.title if variant else ""),
                category=item.category or (product.category if product else "uncategorized"),
                quantity=item.quantity,
                unit_price=price,
                final_sale=item.final_sale
                if item.final_sale is not None
                else bool(product and product.final_sale),
                returned_quantity=item.returned_quantity,
                refunded_quantity=item.refunded_quantity,
            )
        )
    by_local_id = {
        (raw.id or str(i + 1)): li.id
        for i, (raw, li) in enumerate(zip(order.line_items, items, strict=True))
    }
    shipments = [
        Shipment(
            **s.model_dump(exclude={"id", "line_item_ids", "events"}),
            id=s.id or f"shp_{number.lstrip('#')}_{i + 1}",
            line_item_ids=[by_local_id[x] for x in s.line_item_ids]
            if s.line_item_ids
            else [li.id for li in items],
            events=[TrackingEvent.model_validate(e.model_dump()) for e in s.events],
        )
        for i, s in enumerate(order.shipments)
    ]
    customer = customers[order.customer_id]
    subtotal = sum((li.total for li in items), Decimal("0.00"))
    address = customer.default_address
    if order.shipping_address is not None:
        address = Address.model_validate(order.shipping_address.model_dump())
    assert address is not None  # checked by _order_problems
    return Order(
        id=order_id,
        number=number,
        customer_id=order.customer_id,
        email=order.email or customer.email,
        created_at=order.created_at,
        status=order.status,
        currency=order.currency,
        subtotal=subtotal,
        shipping_cost=order.shipping_cost,
        tax=order.tax,
        total=subtotal + order.shipping_cost + order.tax,
        refunded_amount=order.refunded_amount,
        amount_due=order.amount_due,
        payment_method=order.payment_method,
        shipping_address=address,
        line_items=items,
        shipments=shipments,
        cancelled_at=order.cancelled_at,
        cancel_reason=order.cancel_reason,
    )


def _totals_problems(index: int, given: OrderIn, order: Order) -> list[str]:
    label = f"orders[{index}] ({order.number})"
    problems = []
    if given.subtotal is not None and given.subtotal != order.subtotal:
        problems.append(f"{label}: subtotal {given.subtotal} != sum of line items {order.subtotal}")
    if given.total is not None and given.total != order.total:
        problems.append(
            f"{label}: total {given.total} != subtotal + shipping_cost + tax {order.total}"
        )
    if order.refunded_amount > order.total:
        problems.append(f"{label}: refunded_amount {order.refunded_amount} exceeds total")
    return problems


def _duplicates(store: StoreFile) -> list[str]:
    """Ids that must be unique across the file (they are primary keys in the store)."""
    seen: dict[str, dict[str, str]] = {}
    problems = []

    def check(kind: str, key: str | None, where: str) -> None:
        if key is None:
            return
        first = seen.setdefault(kind, {}).setdefault(key, where)
        if first != where:
            problems.append(f"{where}: duplicate {kind} {key!r} (first used at {first})")

    for i, c in enumerate(store.customers):
        check("customer id", c.id, f"customers[{i}]")
    for i, p in enumerate(store.products):
        check("product id", p.id, f"products[{i}]")
        for j, v in enumerate(p.variants):
            check("sku", v.sku, f"products[{i}].variants[{j}]")
    for i, o in enumerate(store.orders):
        where = f"orders[{i}] ({o.number})"
        check("order number", normalize_order_number(o.number), where)
        check("order id", o.id, where)
        for j, li in enumerate(o.line_items):
            check("line item id", li.id, f"{where}.line_items[{j}]")
        for j, sh in enumerate(o.shipments):
            check("shipment id", sh.id, f"{where}.shipments[{j}]")
    return problems


def _product(given: ProductIn, version: int) -> Product:
    product = Product.model_validate(given.model_dump())
    if version >= 2 or any(v.options for v in product.variants):
        return product
    # version 1 knew only titles ("42 / Black"): read the options from them
    variants = [
        v.model_copy(update={"options": options_from_title(v.title)}) for v in product.variants
    ]
    fields = product.model_dump(exclude={"variants"})
    return Product.model_validate({**fields, "variants": variants})


def parse_store(
    data: Any, source: str = "store file"
) -> tuple[list[Customer], list[Product], list[Order]]:
    """Validate a decoded JSON document; raise StoreImportError listing every problem."""
    try:
        store = StoreFile.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{_record_label(data, tuple(err['loc']))}: {err['msg']}" for err in exc.errors()
        ]
        raise StoreImportError(source, problems) from None
    problems = _duplicates(store)
    customers = {c.id: Customer.model_validate(c.model_dump()) for c in store.customers}
    products = [_product(p, store.version) for p in store.products]
    catalog = {v.sku: (p, v) for p in products for v in p.variants}
    problems += [
        p for i, o in enumerate(store.orders) for p in _order_problems(i, o, customers, catalog)
    ]
    if problems:
        raise StoreImportError(source, problems)
    orders = []
    for index, given in enumerate(store.orders):
        try:
            order = _resolve_order(given, customers, catalog)
        except ValidationError as exc:
            problems += [f"orders[{index}] ({given.number}): {err['msg']}" for err in exc.errors()]
            continue
        problems += _totals_problems(index, given, order)
        orders.append(order)
    if problems:
        raise StoreImportError(source, problems)
    return list(customers.values()), products, orders


def import_store(json_path: Path, db_path: Path) -> StoreCounts:
    """Replace the store at `db_path` with the contents of the JSON file at `json_path`."""
    json_path = Path(json_path)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreImportError(str(json_path), ["file not found"]) from None
    except json.JSONDecodeError as exc:
        raise StoreImportError(
            json_path.name, [f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"]
        ) from None
    customers, products, orders = parse_store(data, json_path.name)
    meta = {"format_version": FORMAT_VERSION, "source": "import", "imported_from": json_path.name}
    return build_store(
        Path(db_path), customers=customers, products=products, orders=orders, meta=meta
    )


def export_store(db_path: Path) -> dict[str, Any]:
    """The store at `db_path` in the import format, every field explicit (imports back as is)."""
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            customers = queries.load_customers(conn)
            products = queries.load_products(conn)
            orders = queries.load_orders(conn, newest_first=False)
    finally:
        engine.dispose()
    return {
        "format": FORMAT,
        "version": 2,
        "customers": [c.model_dump(mode="json") for c in customers],
        "products": [p.model_dump(mode="json") for p in products],
        "orders": [o.model_dump(mode="json") for o in orders],
    }
