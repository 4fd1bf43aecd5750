"""Changes to an order's items before it ships, as data: what the gate stores with a pending
action, what the customer confirms, and exactly what the store executes.

`OrderEdit` is one line's change; `price_edits` works out, without I/O, what the order costs
afterwards and where the difference goes, so the summary the customer says yes to and the
write the store makes are computed from the same records."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from commerce.models import Order, OrderStatus

_CENT = Decimal("0.01")


class EditAction(StrEnum):
    SWAP_VARIANT = "swap_variant"  # the whole line becomes another variant of the same product
    SET_QUANTITY = "set_quantity"
    REMOVE_ITEM = "remove_item"


class OrderEdit(BaseModel):
    """One line's change. For a swap, the new variant's sku, title and unit price are fixed
    when the customer is asked, so the store charges what the summary said."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line_item_id: str
    action: EditAction
    # the line as the customer saw it when asked: a line changed since is refused, not guessed
    from_sku: str | None = None
    from_quantity: int | None = None
    quantity: int | None = Field(default=None, ge=1, le=99)  # set_quantity only
    # swap_variant only: how many of the line's units change variant (a partial swap: the rest
    # stay, the swapped ones become a new line, `split_line_id`); None: the whole line
    units: int | None = Field(default=None, ge=1, le=99)
    new_sku: str | None = None
    new_variant_title: str | None = None
    new_unit_price: Decimal | None = Field(default=None, ge=0)


@dataclass(frozen=True)
class EditPrice:
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    difference: Decimal  # new total - old total: > 0 the customer pays more, < 0 is refunded

    @property
    def money(self) -> str:
        return "charge" if self.difference > 0 else "refund" if self.difference < 0 else "none"


def split_line_id(edit: OrderEdit) -> str:
    """The id of the new line a partial swap makes: stable, so a replay finds it."""
    return f"{edit.line_item_id}+{edit.new_sku}"[:64]


def partial(edit: OrderEdit, quantity: int) -> bool:
    """Does this swap change only some of the line's `quantity` units?"""
    return (
        edit.action is EditAction.SWAP_VARIANT and edit.units is not None and edit.units < quantity
    )


def lines_after(order: Order, edits: list[OrderEdit]) -> dict[str, tuple[str, int, Decimal]]:
    """line id -> (sku, quantity, unit price) once the edits are applied; removed lines are
    gone, a partial swap's units are a new line. Raises ValueError for an edit that names no
    line of the order."""
    lines = {i.id: (i.sku, i.quantity, i.unit_price) for i in order.line_items}
    for edit in edits:
        if edit.line_item_id not in lines:
            raise ValueError(f"line {edit.line_item_id} is not on order {order.number}")
        sku, quantity, price = lines[edit.line_item_id]
        if (edit.from_sku or sku, edit.from_quantity or quantity) != (sku, quantity):
            raise ValueError(
                f"order {order.number} changed since the customer confirmed; nothing was changed"
            )
        if edit.action is EditAction.REMOVE_ITEM:
            del lines[edit.line_item_id]
        elif edit.action is EditAction.SET_QUANTITY:
            if edit.quantity is None:
                raise ValueError("a quantity change needs the new quantity")
            lines[edit.line_item_id] = (sku, edit.quantity, price)
        else:
            if edit.new_sku is None or edit.new_unit_price is None:
                raise ValueError("a variant swap needs the new variant and its price")
            if edit.units is not None and edit.units > quantity:
                raise ValueError(f"the line has {quantity}, so {edit.units} can't be swapped")
            if partial(edit, quantity):
                assert edit.units is not None
                lines[edit.line_item_id] = (sku, quantity - edit.units, price)
                lines[split_line_id(edit)] = (edit.new_sku, edit.units, edit.new_unit_price)
            else:
                lines[edit.line_item_id] = (edit.new_sku, quantity, edit.new_unit_price)
    return lines


def price_edits(order: Order, edits: list[OrderEdit]) -> EditPrice:
    """The order's totals after `edits`: tax at the order's own rate, shipping unchanged."""
    subtotal = sum((q * p for _, q, p in lines_after(order, edits).values()), Decimal("0"))
    rate = order.tax / order.subtotal if order.subtotal else Decimal("0")
    tax = (subtotal * rate).quantize(_CENT, ROUND_HALF_UP)
    total = (subtotal + order.shipping_cost + tax).quantize(_CENT)
    return EditPrice(subtotal.quantize(_CENT), tax, total, total - order.total)


def settle(order: Order, price: EditPrice) -> tuple[Decimal, Decimal]:
    """(refunded_amount, amount_due) of a paid order after a change priced `price`: a cheaper
    order first cancels what is still due, then refunds the rest; a dearer one adds to what is
    due (a pending charge, collected through a payment link), never to what was taken. An
    unpaid order settles nothing: its total is what will be paid."""
    refunded, due = order.refunded_amount, order.amount_due
    if order.status is OrderStatus.PENDING_PAYMENT or price.difference == 0:
        return refunded, due
    if price.difference > 0:
        return refunded, due + price.difference
    back = -price.difference
    cancelled = min(due, back)
    return refunded + back - cancelled, due - cancelled


def collects_extra(order: Order, price: EditPrice) -> bool:
    """Does this change leave the customer owing money on an order they already paid? Such an
    extra is never taken silently: it is collected the way the store's policy says
    (`edits.extra_charge`: a payment link for an amount recorded as due, or staff)."""
    return price.money == "charge" and order.status is not OrderStatus.PENDING_PAYMENT


def money_moves(order: Order, price: EditPrice, collect: str = "payment_link") -> str:
    """Where the difference goes, in the customer's words. `collect` is the store's rule for
    an extra charge (StorePolicy.edits.extra_charge): "payment_link" records the amount as due
    on the order and it is paid through a link; "staff" has our team arrange it first."""
    amount = abs(price.difference)
    shown = f"${amount:.2f}" if order.currency == "USD" else f"{amount:.2f} {order.currency}"
    if price.money == "none":
        return "The order total stays the same."
    if order.status is OrderStatus.PENDING_PAYMENT:
        return f"Nothing has been charged yet; the order total becomes {_show(order, price)}."
    if price.money == "refund":
        return f"{shown} is refunded to the original payment method."
    if collect == "staff":
        return (
            f"This costs {shown} more, which is not charged automatically: our team contacts "
            "you to arrange the payment, and the change is made once they approve it."
        )
    return (
        f"This costs {shown} more, which is not taken from your card: the change is made and "
        f"{shown} is recorded as due on the order, to be paid through a payment link we send "
        "to your email."
    )


def _show(order: Order, price: EditPrice) -> str:
    total = price.total
    return f"${total:.2f}" if order.currency == "USD" else f"{total:.2f} {order.currency}"
