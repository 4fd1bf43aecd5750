"""Pydantic models of the merchant JSON import format (documented in docs/store-format.md).

Looser than the domain models where a merchant's export is naturally thinner: line items may
name only a SKU and quantity, totals may be left out (they are computed) and an order without a
shipping address ships to the customer's default. Everything given is checked."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from commerce.models import InventoryPolicy, OrderStatus, normalize_email

FORMAT = "support-agent-store"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _cents(value: Decimal) -> Decimal:
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("money must have at most 2 decimal places")
    return value.quantize(Decimal("0.01"))


Time = Annotated[AwareDatetime, AfterValidator(_utc)]
Money = Annotated[Decimal, Field(ge=0), AfterValidator(_cents)]
Count = Annotated[int, Field(ge=0)]
Text = Annotated[str, Field(min_length=1)]


class _In(BaseModel):
    # A typo in a field name must be an error, not silently ignored data.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AddressIn(_In):
    name: Text
    line1: Text
    line2: str | None = None
    city: Text
    region: str | None = None
    postal_code: Text
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class CustomerIn(_In):
    id: Text
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    first_name: Text
    last_name: str = ""
    phone: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: Time
    default_address: AddressIn | None = None

    @field_validator("email")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return normalize_email(value)


class VariantIn(_In):
    sku: Text
    title: str | None = None  # default: the option values joined by " / ", else "Default"
    price: Money
    stock: Count = 0
    options: dict[Text, Text] = Field(default_factory=dict)  # version 2: {"Size": "M", ...}
    inventory_policy: InventoryPolicy = InventoryPolicy.DENY  # version 2

    @model_validator(mode="after")
    def _title(self) -> VariantIn:
        if self.title is None:
            self.title = " / ".join(self.options.values()) or "Default"
        return self


class ProductOptionIn(_In):
    name: Text
    values: Annotated[list[Text], Field(min_length=1)]


class ProductIn(_In):
    id: Text
    title: Text
    category: Text
    description: str = ""
    final_sale: bool = False
    options: list[ProductOptionIn] = Field(default_factory=list)  # version 2
    variants: Annotated[list[VariantIn], Field(min_length=1)]

    @model_validator(mode="after")
    def _variants_fit_options(self) -> ProductIn:
        """Every variant names a value of every declared option, in order, and no two variants
        are the same combination: otherwise an exchange 'for the blue M' has no single answer."""
        names = [o.name for o in self.options]
        if len(set(names)) != len(names):
            raise ValueError(f"option names repeat: {names}")
        seen: dict[tuple[str, ...], str] = {}
        for variant in self.variants:
            if not names:
                continue
            if list(variant.options) != names:
                raise ValueError(
                    f"variant {variant.sku!r} options {list(variant.options)} must be {names}"
                )
            for option in self.options:
                if variant.options[option.name] not in option.values:
                    raise ValueError(
                        f"variant {variant.sku!r}: {variant.options[option.name]!r} is not one of "
                        f"the {option.name!r} values {option.values}"
                    )
            combo = tuple(variant.options.values())
            if combo in seen:
                raise ValueError(
                    f"variants {seen[combo]!r} and {variant.sku!r} have the same options"
                )
            seen[combo] = variant.sku
        return self


class TrackingEventIn(_In):
    at: Time
    status: Literal["label_created", "in_transit", "out_for_delivery", "delivered", "exception"]
    location: str | None = None
    description: str = ""


class ShipmentIn(_In):
    id: str | None = None
    carrier: Text
    tracking_number: Text
    tracking_url: str | None = None
    shipped_at: Time
    estimated_delivery: Time | None = None
    delivered_at: Time | None = None
    status: Literal["in_transit", "out_for_delivery", "delivered", "exception"]
    line_item_ids: list[str] | None = None  # None: the shipment carries every line item
    events: list[TrackingEventIn] = Field(default_factory=list)


class LineItemIn(_In):
    id: str | None = None
    sku: Text
    quantity: Annotated[int, Field(ge=1)]
    unit_price: Money | None = None  # default: the variant's price
    product_id: str | None = None
    name: str | None = None
    variant_title: str | None = None
    category: str | None = None
    final_sale: bool | None = None  # default: the product's flag
    returned_quantity: Count = 0
    refunded_quantity: Count = 0

    @field_validator("returned_quantity", "refunded_quantity")
    @classmethod
    def _at_most_quantity(cls, value: int, info: ValidationInfo) -> int:
        quantity = info.data.get("quantity")
        if quantity is not None and value > quantity:
            raise ValueError(f"cannot exceed quantity ({quantity})")
        return value


class OrderIn(_In):
    id: str | None = None
    number: Text
    customer_id: Text
    email: str | None = None  # default: the customer's email
    created_at: Time
    status: OrderStatus
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    subtotal: Money | None = None  # checked against the line items when given
    shipping_cost: Money = Decimal("0.00")
    tax: Money = Decimal("0.00")
    total: Money | None = None  # checked against subtotal + shipping_cost + tax when given
    refunded_amount: Money = Decimal("0.00")
    amount_due: Money = Decimal("0.00")  # a pending charge after a change that cost more
    payment_method: Annotated[str, Field(max_length=80)] | None = None  # version 2, masked
    shipping_address: AddressIn | None = None
    line_items: Annotated[list[LineItemIn], Field(min_length=1)]
    shipments: list[ShipmentIn] = Field(default_factory=list)
    cancelled_at: Time | None = None
    cancel_reason: str | None = None

    @field_validator("email")
    @classmethod
    def _normalize(cls, value: str | None) -> str | None:
        return normalize_email(value) if value else value


class StoreFile(_In):
    format: Literal["support-agent-store"] = "support-agent-store"
    # 2 added product/variant options, inventory_policy and payment_method; a version 1 file
    # still imports (its variants' options are read from their titles)
    version: Literal[1, 2] = 1
    customers: list[CustomerIn] = Field(default_factory=list)
    products: list[ProductIn] = Field(default_factory=list)
    orders: list[OrderIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _version_2_fields(self) -> StoreFile:
        if self.version >= 2:
            return self
        used = [
            f"products[{i}] ({p.id})"
            for i, p in enumerate(self.products)
            if p.options
            or any(v.options or v.inventory_policy is not InventoryPolicy.DENY for v in p.variants)
        ]
        used += [f"orders[{i}] ({o.number})" for i, o in enumerate(self.orders) if o.payment_method]
        if used:
            raise ValueError(
                'options, inventory_policy and payment_method need "version": 2 '
                f"(used in {', '.join(used[:5])})"
            )
        return self
