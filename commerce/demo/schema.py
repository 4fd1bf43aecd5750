"""SQLAlchemy Core tables of the demo store database (a SQLite file of its own, apart from the
agent's database). Orders carry the columns that cancellations, refunds and address changes
update; `returns`/`return_items` hold RMAs; `applied_operations` makes every write idempotent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

# Bumped when the tables change shape; stored in `meta` so old files can be recognised.
# "2" added returns, return_items and applied_operations: purely additive, so a "1" file is
# upgraded in place when opened (see upgrade.py). "3" added product and variant options, the
# variants' inventory policy and the orders' payment method: new columns, added in place too.
FORMAT_VERSION = "4"

_CENT = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    """Decimal stored as integer cents: SQLite has no exact decimal type."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:  # noqa: ARG002
        if value is None:
            return None
        return int((Decimal(value) * 100).to_integral_value())

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:  # noqa: ARG002
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(_CENT)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the demo store keeps aware UTC times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        return value.replace(tzinfo=UTC) if value is not None else None


def _address_columns(prefix: str) -> list[Column[Any]]:
    # Flattened rather than an addresses table: an order's address is a snapshot that a later
    # address change overwrites in place, and the customer's default must not move with it.
    nullable = prefix == "addr_"
    return [
        Column(f"{prefix}name", String(200), nullable=nullable),
        Column(f"{prefix}line1", String(200), nullable=nullable),
        Column(f"{prefix}line2", String(200)),
        Column(f"{prefix}city", String(120), nullable=nullable),
        Column(f"{prefix}region", String(120)),
        Column(f"{prefix}postal_code", String(20), nullable=nullable),
        Column(f"{prefix}country", String(2), nullable=nullable),
    ]


metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("email", String(254), nullable=False, index=True),  # stored normalised (lower case)
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("phone", String(40)),
    Column("tags", Text, nullable=False, default=""),  # comma-separated
    Column("created_at", UTCDateTime, nullable=False),
    *_address_columns("addr_"),
)

products = Table(
    "products",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("category", String(64), nullable=False, index=True),
    Column("description", Text, nullable=False, default=""),
    Column("final_sale", Boolean, nullable=False, default=False),
    # JSON [{"name": "Size", "values": ["S", "M"]}, ...]: the option axes in the store's order
    Column("options", Text, nullable=False, default="[]", server_default="[]"),
)

variants = Table(
    "variants",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("product_id", ForeignKey("products.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("price", Money, nullable=False),
    Column("stock", Integer, nullable=False),
    # JSON {"Size": "M", "Color": "Blue"} in the product's option order
    Column("options", Text, nullable=False, default="{}", server_default="{}"),
    Column("inventory_policy", String(16), nullable=False, default="deny", server_default="deny"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),  # "#1043"
    Column("customer_id", ForeignKey("customers.id"), nullable=False, index=True),
    Column("email", String(254), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("status", String(32), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("subtotal", Money, nullable=False),
    Column("shipping_cost", Money, nullable=False),
    Column("tax", Money, nullable=False),
    Column("total", Money, nullable=False),
    Column("refunded_amount", Money, nullable=False),
    # a pending charge after an item change that cost more (format 4)
    Column("amount_due", Money, nullable=False, default=Decimal("0"), server_default="0"),
    Column("payment_method", String(80)),  # masked: "Visa •••• 4242"
    Column("cancelled_at", UTCDateTime),
    Column("cancel_reason", Text),
    *_address_columns("ship_"),
)

line_items = Table(
    "line_items",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("product_id", String(64), nullable=False),  # no FK: products may be retired
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("variant_title", String(200), nullable=False),
    Column("category", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("final_sale", Boolean, nullable=False),
    Column("returned_quantity", Integer, nullable=False, default=0),
    Column("refunded_quantity", Integer, nullable=False, default=0),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("carrier", String(32), nullable=False),
    Column("tracking_number", String(64), nullable=False, index=True),
    Column("tracking_url", Text),
    Column("shipped_at", UTCDateTime, nullable=False),
    Column("estimated_delivery", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    Column("status", String(32), nullable=False),
)

shipment_items = Table(
    "shipment_items",
    metadata,
    Column("shipment_id", ForeignKey("shipments.id"), primary_key=True),
    Column("line_item_id", ForeignKey("line_items.id"), primary_key=True),
    Column("position", Integer, nullable=False),
)

tracking_events = Table(
    "tracking_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("shipment_id", ForeignKey("shipments.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status", String(32), nullable=False),
    Column("location", String(200)),
    Column("description", Text, nullable=False),
)

Index("ix_tracking_events_shipment", tracking_events.c.shipment_id, tracking_events.c.position)

returns = Table(
    "returns",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("rma", String(40), nullable=False, unique=True),  # "RMA-1043-1"
    Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
    Column("order_number", String(20), nullable=False),
    Column("customer_id", String(64), nullable=False, index=True),
    Column("reason", String(64), nullable=False),
    Column("resolution", String(32), nullable=False),
    Column("refund_amount", Money, nullable=False),
    Column("restocking_fee", Money, nullable=False),
    Column("status", String(32), nullable=False),  # open | refunded | closed
    Column("instructions", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime),
    Column("idempotency_key", String(200), nullable=False, unique=True),
)

return_items = Table(
    "return_items",
    metadata,
    Column("return_id", ForeignKey("returns.id"), primary_key=True),
    Column("line_item_id", ForeignKey("line_items.id"), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("exchange_sku", String(64)),
)

# One row per write that took effect, inserted in the same transaction as the write itself: the
# primary key makes a second application of the same key impossible, and `result` is what the
# first caller got back, replayed to every later caller with that key.
applied_operations = Table(
    "applied_operations",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("kind", String(32), nullable=False),  # return | cancel | address_change | receive
    Column("target", String(64), nullable=False),  # the order number (or RMA) acted on
    Column("result", Text, nullable=False),  # JSON of the returned model
    Column("applied_at", UTCDateTime, nullable=False),
)
