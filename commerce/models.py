"""Domain models shared by every store backend. Money is Decimal; times are timezone-aware UTC."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
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
    # owed after a change that cost more (a pending charge, paid through a payment link)
    amount_due: Decimal = Decimal("0")
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


# --- order numbers ----------------------------------------------------------------------------
# Stores number orders their own way: "#1043" (the demo and Shopify's default), "NW-104233",
# "1043-A", "SO12345". A number is kept as the store writes it; what a customer types is matched
# against the store's formats (OrderNumberFormat) ignoring case, spaces, "#" and separators, so
# "nw 104233" and "#NW104233" find "NW-104233", and bare digits find the one prefixed format.

# Anything that can be an order number at all: a "#" or letters, then 3+ digits, then an
# optional suffix ("-A", "/2", "B"), 24 characters at most.
_ORDER_TOKEN = re.compile(r"#?[A-Z]{0,8}[-_/.]?\d{3,12}(?:[-_/.][A-Z0-9]{1,6}|[A-Z]{1,2})?")
_LEAD = re.compile(
    r"^(?:order|ord)\b\s*(?:number|num|no\.?|nr\.?|id)?\s*(?:is|:)?\s*", re.IGNORECASE
)
_PART = re.compile(r"\{n\}|\{A\}|\{9\}|.", re.DOTALL)


class OrderNumberFormat(_Model):
    """The shape of one kind of order number: a template with `{n}` for the running number,
    `{A}` for one letter and `{9}` for one digit after it, everything else literal; e.g. "#{n}",
    "NW-{n}", "{n}-{A}", "SO{n}"."""

    template: str
    min_digits: int = 3
    max_digits: int = 10

    def _parts(self) -> list[str]:
        return _PART.findall(self.template)

    def _compact_pattern(self) -> re.Pattern[str]:
        regex = ""
        for part in self._parts():
            if part == "{n}":
                regex += rf"(\d{{{self.min_digits},{self.max_digits}}})"
            elif part == "{A}":
                regex += "([A-Z])"
            elif part == "{9}":
                regex += r"(\d)"
            elif part.isalnum():
                regex += re.escape(part.upper())
        return re.compile(regex)

    @property
    def prefix(self) -> str:
        """The letters before the number ("NW" for "NW-{n}"): what bare digits are missing."""
        head = self.template.split("{", 1)[0]
        return "".join(ch for ch in head.upper() if ch.isalnum())

    def parse(self, text: str) -> str | None:
        """`text` in this format as the store writes it, or None if it is not one."""
        compact = "".join(ch for ch in text.upper() if ch.isalnum())
        match = self._compact_pattern().fullmatch(compact)
        if match is None:
            return None
        groups = iter(match.groups())
        return "".join(next(groups) if p in ("{n}", "{A}", "{9}") else p for p in self._parts())

    @classmethod
    def of(cls, number: str) -> OrderNumberFormat:
        """The format of one example number: "NW-104233" -> NW-{n} with 6 digits."""
        match = re.search(r"\d+", number)
        if match is None:
            raise ValueError(f"{number!r} has no digits")
        tail = "".join(
            "{9}" if ch.isdigit() else "{A}" if ch.isalpha() else ch for ch in number[match.end() :]
        )
        digits = len(match.group())
        return cls(
            template=number[: match.start()] + "{n}" + tail, min_digits=digits, max_digits=digits
        )


DEFAULT_ORDER_NUMBER_FORMATS = (OrderNumberFormat(template="#{n}"),)


def order_number_formats(numbers: Iterable[str]) -> list[OrderNumberFormat]:
    """The formats a store's numbers use, most used first. Digit counts span what was seen plus
    one more (#9999 is followed by #10000); no numbers: the default "#{n}"."""
    seen: dict[str, list[int]] = {}
    for number in numbers:
        try:
            shape = OrderNumberFormat.of(number)
        except ValueError:
            continue
        seen.setdefault(shape.template, []).append(shape.min_digits)
    if not seen:
        return list(DEFAULT_ORDER_NUMBER_FORMATS)
    ranked = sorted(seen.items(), key=lambda item: -len(item[1]))
    return [
        OrderNumberFormat(template=template, min_digits=min(d), max_digits=max(d) + 1)
        for template, d in ranked
    ]


def normalize_order_number(
    text: str, formats: Sequence[OrderNumberFormat] | None = None
) -> str | None:
    """The order number `text` names, written the store's way; None if it names none.

    Without `formats`: '1043', '#1043', 'order # 1043' -> '#1043'; other shapes ('nw-104233',
    'SO12345', '1043-a') upper-cased with spaces removed. With the store's `formats`: the number
    in the first format it fits ('nw 104233' -> 'NW-104233'; bare digits get the prefix of the
    one format that has one), else None."""
    body = re.sub(r"#\s+", "#", _LEAD.sub("", text.strip())).upper()
    if formats is not None:
        for fmt in formats:
            found = fmt.parse(body)
            if found is None and body.lstrip("#").isdigit() and fmt.prefix:
                found = fmt.parse(fmt.prefix + body.lstrip("#"))
            if found is not None:
                return found
        return None
    if len(body) > 24 or not _ORDER_TOKEN.fullmatch(body):  # spaces inside: not one number
        return None
    if body.lstrip("#").isdigit():
        return "#" + body.lstrip("#")
    return body


def looks_like_order_number(token: str, formats: Sequence[OrderNumberFormat] | None = None) -> bool:
    """Could `token` (one word of a message) be one of the store's order numbers? With no
    formats, the default '#1043' shape. Entity extraction calls this; a street number that does
    not fit the store's digit count ("123" where orders are #1001-#9999) is not one."""
    return normalize_order_number(token, formats or DEFAULT_ORDER_NUMBER_FORMATS) is not None


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
