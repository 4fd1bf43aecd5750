"""Domain models shared by every store backend. Money is Decimal; times are timezone-aware UTC."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


class InventoryPolicy(StrEnum):
    DENY = "deny"  # not sold once stock reaches 0
    CONTINUE = "continue"  # sold on backorder past 0 (Shopify's "continue selling")


class Variant(_Model):
    sku: str
    title: str  # "42 / Black": for display; `options` is what matching reads
    price: Decimal
    stock: int
    # option name -> value in the product's option order, e.g. {"Size": "M", "Color": "Blue"};
    # empty for a product without options (one variant, "Default")
    options: dict[str, str] = Field(default_factory=dict)
    inventory_policy: InventoryPolicy = InventoryPolicy.DENY

    @property
    def available(self) -> bool:
        """Can be ordered now: in stock, or the store keeps selling it on backorder."""
        return self.stock > 0 or self.inventory_policy is InventoryPolicy.CONTINUE


class ProductOption(_Model):
    name: str  # "Size", "Color", "Capacity", "Switch type"
    values: list[str]  # in the store's order ("S", "M", "L")


class Product(_Model):
    id: str
    title: str
    category: str
    description: str = ""
    final_sale: bool = False
    # the option axes; left empty, they are read from the variants' options in order
    options: list[ProductOption] = Field(default_factory=list)
    variants: list[Variant]

    @model_validator(mode="after")
    def _options_from_variants(self) -> Product:
        if not self.options and any(v.options for v in self.variants):
            axes: dict[str, list[str]] = {}
            for variant in self.variants:
                for name, value in variant.options.items():
                    values = axes.setdefault(name, [])
                    if value not in values:
                        values.append(value)
            object.__setattr__(
                self, "options", [ProductOption(name=n, values=v) for n, v in axes.items()]
            )
        return self

    def variant(self, sku: str) -> Variant | None:
        return next((v for v in self.variants if v.sku == sku), None)


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
    # masked for display, never a full card number: "Visa •••• 4242", "PayPal", "Gift card"
    payment_method: str | None = None
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
