"""Returns (RMAs) on the demo store: instructions, rows -> ReturnRecord, and the two writes.

What a real store does, and so what this one does:

1. `create_return` OPENS the return. The items are marked as being returned
   (`line_items.returned_quantity`), so they cannot be returned twice, and the customer gets an
   RMA number and instructions. No money moves: the order's status and `refunded_amount` stay as
   they were, and the return's `refund_amount` is what will be paid.
2. `receive_return` is the warehouse checking the parcel in. A refund or store-credit return
   becomes `refunded`: `refunded_quantity` and the order's `refunded_amount` go up, and the order
   becomes `returned` (everything refunded) or `partially_refunded`. An exchange becomes `closed`
   (the replacement ships). Store credit counts towards `refunded_amount`, as a refund to store
   credit.

So "where is my refund?" has an answer at each step: open (waiting for the parcel) or refunded.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import Connection, func, insert, select, update

from commerce.demo import schema as t
from commerce.demo.order_writes import load_order
from commerce.models import LineItem, Order, OrderStatus, Resolution, ReturnLine, ReturnRecord
from errors import BackendError

_CENT = Decimal("0.01")
_NOT_SHIPPED = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.CANCELLED)
_REFUNDING = (Resolution.REFUND, Resolution.STORE_CREDIT)


# --- instructions ----------------------------------------------------------------------------


@functools.cache
def instruction_texts() -> dict[str, str]:
    """The texts of returns.yaml (packaged data, so a merchant's wording is not code)."""
    raw = resources.files("commerce.demo").joinpath("returns.yaml").read_text("utf-8")
    return {key: str(value).strip() for key, value in yaml.safe_load(raw).items()}


def _money(amount: Decimal, currency: str) -> str:
    return f"${amount:,.2f}" if currency == "USD" else f"{amount:,.2f} {currency}"


def return_instructions(
    *,
    rma: str,
    country: str,
    resolution: Resolution,
    refund_amount: Decimal,
    restocking_fee: Decimal,
    currency: str,
    exchange_variant: str | None = None,
) -> str:
    """What the customer does next: label or address, packing, and when the money arrives."""
    texts = instruction_texts()
    label_url = texts["label_url"].format(rma=rma)
    if country == "US":
        shipping = texts["prepaid_label"].format(label_url=label_url)
    else:
        shipping = texts["ship_back"].format(warehouse=texts["warehouse"])
    parts = [shipping, texts["packing"].format(rma=rma)]
    if resolution is Resolution.EXCHANGE:
        parts.append(texts["exchange"].format(variant=exchange_variant or "the new variant"))
    else:
        parts.append(texts[resolution.value].format(amount=_money(refund_amount, currency)))
    if restocking_fee > 0:
        parts.append(texts["restocking_fee"].format(fee=_money(restocking_fee, currency)))
    return " ".join(parts)


# --- reading ---------------------------------------------------------------------------------


def load_returns(conn: Connection, filters: Mapping[str, str] | None = None) -> list[ReturnRecord]:
    """Returns whose columns equal `filters` (customer_id, order_number, rma), newest first."""
    query = select(t.returns).order_by(t.returns.c.created_at.desc(), t.returns.c.rma.desc())
    for name, value in (filters or {}).items():
        query = query.where(t.returns.c[name] == value)
    rows = conn.execute(query).mappings().all()
    if not rows:
        return []
    ri = t.return_items
    lines: dict[str, list[ReturnLine]] = {}
    for item in conn.execute(
        select(ri).where(ri.c.return_id.in_([r["id"] for r in rows])).order_by(ri.c.position)
    ).mappings():
        lines.setdefault(item["return_id"], []).append(
            ReturnLine(
                line_item_id=item["line_item_id"],
                quantity=item["quantity"],
                exchange_sku=item["exchange_sku"],
            )
        )
    skip = {"order_id", "received_at"}
    return [
        ReturnRecord(
            **{k: v for k, v in row.items() if k not in skip},
            lines=lines.get(row["id"], []),
        )
        for row in rows
    ]


# --- writing ---------------------------------------------------------------------------------


def _check_lines(
    conn: Connection, order: Order, lines: list[ReturnLine], resolution: Resolution
) -> list[tuple[LineItem, ReturnLine]]:
    if order.status in _NOT_SHIPPED:
        raise BackendError(
            f"order {order.number} is {order.status.value}; nothing on it can be returned"
        )
    if not lines:
        raise BackendError("a return needs at least one item")
    by_id = {li.id: li for li in order.line_items}
    shipped = {li_id for s in order.shipments for li_id in s.line_item_ids}
    seen: set[str] = set()
    pairs = []
    for line in lines:
        item = by_id.get(line.line_item_id)
        if item is None:
            raise BackendError(f"{line.line_item_id} is not an item of order {order.number}")
        if line.line_item_id in seen:
            raise BackendError(f"{item.name} is listed twice; give one line with the quantity")
        seen.add(line.line_item_id)
        if order.shipments and item.id not in shipped:
            raise BackendError(f"{item.name} from order {order.number} hasn't shipped yet")
        left = item.quantity - item.returned_quantity
        if line.quantity > left:
            raise BackendError(
                f"only {left} of {item.name} from order {order.number} can still be returned"
            )
        if (resolution is Resolution.EXCHANGE) != (line.exchange_sku is not None):
            raise BackendError("an exchange names the variant wanted for each item, and only then")
        if line.exchange_sku is not None:
            known = conn.execute(
                select(t.variants.c.sku).where(t.variants.c.sku == line.exchange_sku)
            ).first()
            if known is None:
                raise BackendError(f"{line.exchange_sku} is not a variant this store sells")
        pairs.append((item, line))
    return pairs


def _exchange_label(conn: Connection, skus: list[str]) -> str | None:
    """'Trail Runner, 43 / Black' for each variant wanted, or None when nothing is exchanged."""
    labels = []
    for sku in dict.fromkeys(skus):
        row = conn.execute(
            select(t.products.c.title, t.variants.c.title)
            .join(t.variants, t.variants.c.product_id == t.products.c.id)
            .where(t.variants.c.sku == sku)
        ).first()
        labels.append(f"{row[0]}, {row[1]}" if row else sku)
    return "; ".join(labels) or None


def create_return(
    conn: Connection,
    *,
    order_number: str,
    lines: list[ReturnLine],
    reason: str,
    resolution: Resolution,
    refund_amount: Decimal,
    restocking_fee: Decimal,
    idempotency_key: str,
    now: datetime,
) -> ReturnRecord:
    order = load_order(conn, order_number)
    pairs = _check_lines(conn, order, lines, resolution)
    if not reason.strip():
        raise BackendError("a return needs a reason")
    refund, fee = refund_amount.quantize(_CENT), restocking_fee.quantize(_CENT)
    value = sum((item.unit_price * line.quantity for item, line in pairs), Decimal("0.00"))
    if refund < 0 or fee < 0:
        raise BackendError("refund and restocking fee cannot be negative")
    if refund + fee > value:
        raise BackendError(
            f"a refund of {refund} plus a fee of {fee} is more than the items are worth ({value})"
        )

    digits = order.number.removeprefix("#")
    count = select(func.count()).select_from(t.returns).where(t.returns.c.order_id == order.id)
    seq = conn.execute(count).scalar_one() + 1
    rma, return_id = f"RMA-{digits}-{seq}", f"ret_{digits}_{seq}"
    instructions = return_instructions(
        rma=rma,
        country=order.shipping_address.country,
        resolution=resolution,
        refund_amount=refund,
        restocking_fee=fee,
        currency=order.currency,
        exchange_variant=_exchange_label(
            conn, [ln.exchange_sku for ln in lines if ln.exchange_sku]
        ),
    )
    row: dict[str, Any] = {
        "id": return_id,
        "rma": rma,
        "order_id": order.id,
        "order_number": order.number,
        "customer_id": order.customer_id,
        "reason": reason.strip(),
        "resolution": resolution.value,
        "refund_amount": refund,
        "restocking_fee": fee,
        "status": "open",
        "instructions": instructions,
        "created_at": now,
        "idempotency_key": idempotency_key,
    }
    conn.execute(insert(t.returns).values(**row))
    conn.execute(
        insert(t.return_items),
        [
            {"return_id": return_id, "position": i, **line.model_dump()}
            for i, (_, line) in enumerate(pairs)
        ],
    )
    li = t.line_items
    for item, line in pairs:
        changed = conn.execute(
            update(li)
            .where(li.c.id == item.id, li.c.quantity - li.c.returned_quantity >= line.quantity)
            .values(returned_quantity=li.c.returned_quantity + line.quantity)
        ).rowcount
        if changed != 1:  # cannot happen under BEGIN IMMEDIATE; refuse rather than overdraw
            raise BackendError(f"{item.name} changed while the return was being opened")
    return load_returns(conn, {"rma": rma})[0]


def receive_return(conn: Connection, *, rma: str, now: datetime) -> ReturnRecord:
    """The parcel arrived: refund (or close an exchange) and update the order to match."""
    found = load_returns(conn, {"rma": rma})
    if not found:
        raise BackendError(f"return {rma} does not exist")
    record = found[0]
    if record.status != "open":
        raise BackendError(f"return {rma} is already {record.status}")
    refunding = record.resolution in _REFUNDING
    li, o = t.line_items, t.orders
    if refunding:
        for line in record.lines:
            conn.execute(
                update(li)
                .where(li.c.id == line.line_item_id)
                .values(refunded_quantity=li.c.refunded_quantity + line.quantity)
            )
        order = load_order(conn, record.order_number)
        everything = all(item.refunded_quantity >= item.quantity for item in order.line_items)
        status = order.status
        if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_REFUNDED):
            status = OrderStatus.RETURNED if everything else OrderStatus.PARTIALLY_REFUNDED
        conn.execute(
            update(o)
            .where(o.c.id == order.id)
            .values(
                status=status.value,
                refunded_amount=min(order.total, order.refunded_amount + record.refund_amount),
            )
        )
    conn.execute(
        update(t.returns)
        .where(t.returns.c.rma == rma)
        .values(status="refunded" if refunding else "closed", received_at=now)
    )
    return load_returns(conn, {"rma": rma})[0]
