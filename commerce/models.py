"""Domain models shared by every store backend. Money is Decimal; times are timezone-aware UTC."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"  # paid, nothing shipped yet
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    PARTIALLY_REFUNDED = "partially_refunded"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Address(_Model):
    name: str
    line1: str
    line2: str | None = None
    city: str
    region: str | None = None
    postal_code: str
    country: str  # ISO 3166-1 alpha-2


class Customer(_Model):
    id: str
    email: str
    first_name: str
    last_name: str
    phone: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime
    default_address: Address | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Variant(_Model):
    sku: str
    title: str  # "42 / Black"
    price: Decimal
    stock: int


class Product(_Model):
    id: str
    title: str
    category: str
    description: str = ""
    final_sale: bool = False
    variants: list[Variant]


class TrackingEvent(_Model):
    at: datetime
    status: str  # label_created | in_transit | out_for_delivery | delivered | exception
    location: str | None = None
    description: str


class Shipment(_Model):
    id: str
    carrier: str
    tracking_number: str
    tracking_url: str | None = None
    shipped_at: datetime
    estimated_delivery: datetime | None = None
    delivered_at: datetime | None = None
    status: str  # in_transit | out_for_delivery | delivered | exception
    line_item_ids: list[str]
    events: list[TrackingEvent] = Field(default_factory=list)


class LineItem(_Model):
    id: str
    product_id: str
    sku: str
    name: str
    variant_title: str
    category: str
    quantity: int
    unit_price: Decimal
    final_sale: bool = False
    returned_quantity: int = 0
    refunded_quantity: int = 0

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


class Order(_Model):
    id: str
    number: str  # "#1043"
    customer_id: str
    email: str
    created_at: datetime
    status: OrderStatus
    currency: str = "USD"
    subtotal: Decimal
    shipping_cost: Decimal
    tax: Decimal
    total: Decimal
    refunded_amount: Decimal = Decimal("0")
    shipping_address: Address
    line_items: list[LineItem]
    shipments: list[Shipment] = Field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None

    @property
    def delivered_at(self) -> datetime | None:
        dates = [s.delivered_at for s in self.shipments if s.delivered_at]
        return max(dates) if dates else None

    @property
    def postal_code(self) -> str:
        return self.shipping_address.postal_code


_ORDER_NUMBER = re.compile(r"#?\s*(\d{3,10})")


def normalize_order_number(text: str) -> str | None:
    """'1043', '#1043', 'order # 1043' -> '#1043'; anything else -> None."""
    match = _ORDER_NUMBER.fullmatch(text.strip().lower().removeprefix("order").strip())
    return f"#{match.group(1)}" if match else None


def normalize_postal_code(text: str) -> str:
    return re.sub(r"[\s-]", "", text).upper()


def normalize_email(text: str) -> str:
    return text.strip().lower()


class Resolution(StrEnum):
    REFUND = "refund"  # to the original payment method
    STORE_CREDIT = "store_credit"
    EXCHANGE = "exchange"


class ReturnLine(_Model):
    line_item_id: str
    quantity: int = Field(ge=1)
    exchange_sku: str | None = None  # the variant wanted instead, for exchanges


class ReturnRecord(_Model):
    """A return (RMA) as the store holds it."""

    id: str
    rma: str  # "RMA-1043-1", shown to the customer
    order_number: str
    customer_id: str
    lines: list[ReturnLine]
    reason: str
    resolution: Resolution
    refund_amount: Decimal
    restocking_fee: Decimal = Decimal("0")
    status: str = "open"  # open | received | refunded | closed
    instructions: str
    created_at: datetime
    idempotency_key: str
