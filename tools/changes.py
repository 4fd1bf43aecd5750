"""Changes to an order before it ships (swap an item's variant, change a quantity, remove an
item) and to the account's saved address: policy checked in code, then a proposal whose
summary says exactly what a yes does. The structured change is stored with the proposal and is
what executes (tools/actions.py), so the store can only do what the customer confirmed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from langchain.tools import ToolRuntime
from pydantic import BaseModel, Field

from commerce.edits import (
    EditAction,
    OrderEdit,
    collects_extra,
    money_moves,
    partial,
    price_edits,
)
from commerce.models import LineItem, Order
from commerce.policy import check_default_address, check_edit
from errors import ToolError
from tools.actions import Proposal
from tools.base import ToolKind, support_tool
from tools.context import SupportContext
from tools.orders import own_order
from tools.returns import _money, _proposed, match_item
from tools.variant_match import choose_variant


class ItemChange(BaseModel):
    item: str = Field(
        description="The item as on the order: name with its variant when the order has two "
        "of the same product, e.g. 'Classic Tee (M / Black)', or its SKU"
    )
    change: Literal["swap_variant", "set_quantity", "remove_item"] = Field(
        description="swap_variant: another size/colour/... of the same product; set_quantity: "
        "a new quantity; remove_item: take it off the order"
    )
    quantity: int | None = Field(
        default=None,
        description="set_quantity: the new quantity; swap_variant: how many of the line's units "
        "to swap when not all of them ('one of my two tees'), else leave it out",
    )
    new_variant: str | None = Field(
        default=None,
        description="For swap_variant, the option values the customer wants, in their words "
        "(e.g. 'XL in navy', '256 GB', 'linear switches')",
    )


def _delta(amount: Decimal, order: Order) -> str:
    """A line's change to the items' cost: "+$2.00", "-$20.00" (tax comes on the total)."""
    sign = "+" if amount > 0 else "-" if amount < 0 else "±"
    return f"{sign}{_money(abs(amount), order.currency)}"


def edit_lines(order: Order, edits: list[OrderEdit]) -> list[str]:
    """One sentence per change, from the stored edits alone: what the customer confirms. Each
    names the line as it is (quantity, product, variant), what it becomes and what that does
    to the items' cost."""
    items = {i.id: i for i in order.line_items}
    lines = []
    for edit in edits:
        item = items[edit.line_item_id]
        was = f"{item.quantity} × {item.name} ({item.variant_title})"
        if edit.action is EditAction.REMOVE_ITEM:
            delta = -item.quantity * item.unit_price
            lines.append(f"Remove {was} ({_delta(delta, order)}).")
        elif edit.action is EditAction.SET_QUANTITY:
            assert edit.quantity is not None
            delta = (edit.quantity - item.quantity) * item.unit_price
            lines.append(f"Change {was} to {edit.quantity} ({_delta(delta, order)}).")
        else:
            assert edit.new_unit_price is not None
            price = _money(edit.new_unit_price, order.currency)
            units = edit.units if partial(edit, item.quantity) else item.quantity
            assert units is not None
            delta = units * (edit.new_unit_price - item.unit_price)
            some = f"{units} of " if units < item.quantity else ""
            lines.append(
                f"Swap {some}{was} for {units} × {item.name} ({edit.new_variant_title}) at "
                f"{price} each ({_delta(delta, order)})."
            )
    return lines


def edit_summary(order: Order, edits: list[OrderEdit], collect: str = "payment_link") -> str:
    """What a yes does, computed from the stored edits alone: each line's change, the new
    total beside the old one, and where the difference goes (`collect`: how the store's policy
    collects an extra charge, commerce/edits.money_moves)."""
    price = price_edits(order, edits)
    total = _money(price.total, order.currency)
    was = _money(order.total, order.currency)
    return (
        f"Change order {order.number}: {' '.join(edit_lines(order, edits))} "
        f"New order total: {total} (was {was}). {money_moves(order, price, collect)}"
    )


async def _edit_for(ctx: SupportContext, order: Order, item: LineItem, c: ItemChange) -> OrderEdit:
    seen = {"line_item_id": item.id, "from_sku": item.sku, "from_quantity": item.quantity}
    if c.change == "remove_item":
        return OrderEdit(**seen, action=EditAction.REMOVE_ITEM)
    if c.change == "set_quantity":
        if c.quantity is None or not 1 <= c.quantity <= 99:
            raise ToolError("Ask for the new quantity (1 to 99); to remove the item, say so.")
        if c.quantity == item.quantity:
            raise ToolError(f"Order {order.number} already has {item.quantity} × {item.name}.")
        product = await ctx.deps.store.get_product(item.product_id)
        variant = product.variant(item.sku) if product else None
        more = c.quantity - item.quantity
        if variant is not None and variant.inventory_policy == "deny" and variant.stock < more:
            left = max(variant.stock, 0)
            raise ToolError(f"Only {left} more of {item.name} ({item.variant_title}) in stock.")
        return OrderEdit(**seen, action=EditAction.SET_QUANTITY, quantity=c.quantity)
    if not (c.new_variant or "").strip():
        raise ToolError(f"Ask which size, colour or other option of {item.name} they want.")
    product = await ctx.deps.store.get_product(item.product_id)
    if product is None:
        raise ToolError(f"{item.name} is no longer sold, so it can't be swapped.")
    units = c.quantity if c.quantity is not None and c.quantity != item.quantity else None
    if units is not None and not 1 <= units < item.quantity:
        raise ToolError(
            f"Order {order.number} has {item.quantity} × {item.name} ({item.variant_title}); "
            f"ask how many of them to swap (1 to {item.quantity})."
        )
    variant = choose_variant(
        product, c.new_variant or "", current_sku=item.sku, quantity=units or item.quantity
    )
    return OrderEdit(
        **seen,
        action=EditAction.SWAP_VARIANT,
        units=units,
        new_sku=variant.sku,
        new_variant_title=variant.title,
        new_unit_price=variant.price,
    )


@support_tool(ToolKind.WRITE, label="Preparing the change to your order...")
async def change_order_items(
    order_number: str, changes: list[ItemChange], runtime: ToolRuntime[SupportContext]
) -> dict[str, Any]:
    """Propose changes to the items of the verified customer's order before it ships: swap an
    item for another variant of the same product, change a quantity, or remove an item (to
    remove everything, cancel the order instead). Several changes can go in one call. Nothing
    happens until the customer confirms: show the returned summary (items, new total, refund
    or charge) and ask for an explicit yes.

    Args:
        order_number: The order number, e.g. "#1043".
        changes: Each item to change and how.
    """
    ctx = runtime.context
    order = await own_order(ctx, order_number)
    if not changes:
        raise ToolError("Say which item to change and how.")
    edits: list[OrderEdit] = []
    for change in changes:
        item = match_item(order, change.item)
        if any(e.line_item_id == item.id for e in edits):
            raise ToolError(f"{item.name} ({item.variant_title}) is named twice; one change each.")
        edits.append(await _edit_for(ctx, order, item, change))
    price = price_edits(order, edits)
    decision = check_edit(ctx.deps.policy, order, edits, price, ctx.deps.clock())
    if not decision.allowed:
        raise ToolError(f"Order {order.number} can't be changed: {decision.reason}.")
    collect = ctx.deps.policy.edits.extra_charge
    summary = edit_summary(order, edits, collect)
    if decision.needs_approval:
        summary += f" Our team will review it first ({decision.reason})."
    stored = [e.model_dump(mode="json") for e in edits]
    proposal = Proposal(
        kind="order_edit",
        order_number=order.number,
        args={
            "edits": stored,
            "expected_total": f"{price.total:.2f}",
            "difference": f"{price.difference:.2f}",
            "money": price.money,
            # how an extra is collected (never silently): recorded as due, or staff arrange it
            "collect": collect if collects_extra(order, price) else None,
        },
        summary=summary,
        needs_approval=decision.needs_approval,
        approval_reason=decision.reason if decision.needs_approval else None,
        key_detail=stored,
    )
    return await _proposed(ctx, proposal)


@support_tool(ToolKind.WRITE, label="Preparing the change to your saved address...")
async def change_default_address(
    line1: str,
    city: str,
    postal_code: str,
    country: str,
    runtime: ToolRuntime[SupportContext],
    line2: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """Propose a new saved (default) address on the verified customer's account, used for
    future orders; existing orders keep theirs (use change_shipping_address for an order).
    Nothing happens until the customer confirms with an explicit yes.

    Args:
        line1: Street and number.
        city: City.
        postal_code: Postal or ZIP code.
        country: Two-letter country code, e.g. US.
        line2: Apartment, suite, etc.
        region: State or province.
    """
    ctx = runtime.context
    if ctx.customer_id is None:
        raise ToolError("Verify the customer first (order number and email or postal code).")
    decision = check_default_address(ctx.deps.policy)
    if not decision.allowed:
        raise ToolError(f"The saved address can't be changed here: {decision.reason}.")
    customer = await ctx.deps.store.get_customer(ctx.customer_id)
    if customer is None:
        raise ToolError("This customer's account was not found.")
    if len(country.strip()) != 2 or not all(p.strip() for p in (line1, city, postal_code)):
        raise ToolError("Ask for a complete address: street, city, postal code and country.")
    address = {
        "name": customer.name,
        "line1": line1.strip()[:200],
        "line2": (line2 or "").strip()[:200] or None,
        "city": city.strip()[:100],
        "region": (region or "").strip()[:100] or None,
        "postal_code": postal_code.strip().upper()[:20],
        "country": country.strip().upper(),
    }
    parts = [address["line1"], address["line2"], address["city"], address["region"]]
    where = ", ".join(p for p in parts if p) + f" {address['postal_code']}, {address['country']}"
    proposal = Proposal(
        kind="default_address",
        order_number="account",
        args={"address": address},
        summary=f"Save {where} as the address on your account. Existing orders keep theirs.",
        needs_approval=False,
        approval_reason=None,
        key_detail=address,
    )
    return await _proposed(ctx, proposal)
