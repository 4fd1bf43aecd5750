"""Returns, cancellations and address changes: policy checked in code, then a proposal that
waits for the customer's "yes" (and staff approval above the store's rules)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from langchain.tools import ToolRuntime
from pydantic import BaseModel, Field

from commerce.models import LineItem, Order
from commerce.policy import Decision, check_address_change, check_cancel, check_return
from errors import ToolError
from tools.actions import Proposal, propose
from tools.base import ToolKind, support_tool
from tools.context import SupportContext
from tools.orders import own_order

ASK = "Nothing has been done yet. Show the summary and ask the customer to reply yes to confirm."


class ItemRequest(BaseModel):
    item: str = Field(description="Item name, SKU or line id as it appears on the order")
    quantity: int = Field(default=1, description="How many of that item")


def match_item(order: Order, wanted: str) -> LineItem:
    """Finds the line item a customer means: id, SKU, then name (with or without variant)."""
    text = wanted.strip().lower()
    for item in order.line_items:
        if text in (item.id.lower(), item.sku.lower()):
            return item
    hits = [
        i
        for i in order.line_items
        if text in f"{i.name} {i.variant_title}".lower() or i.name.lower() in text
    ]
    if len(hits) == 1:
        return hits[0]
    names = "; ".join(f"{i.name} ({i.variant_title})" for i in order.line_items)
    if hits:
        raise ToolError(f"'{wanted}' matches several items on order {order.number}: {names}")
    raise ToolError(f"'{wanted}' is not on order {order.number}. Its items are: {names}")


async def _prior_returns_90d(ctx: SupportContext) -> int:
    since = ctx.deps.clock() - timedelta(days=90)
    returns = await ctx.deps.store.list_returns(customer_id=ctx.customer_id)
    return sum(1 for r in returns if r.created_at.replace(tzinfo=since.tzinfo) >= since)


def _money(amount: Decimal, currency: str) -> str:
    return f"${amount:.2f}" if currency == "USD" else f"{amount:.2f} {currency}"


@support_tool(ToolKind.READ, label="Checking the return policy for your items...")
async def check_return_eligibility(
    order_number: str, runtime: ToolRuntime[SupportContext], reason: str = "changed_mind"
) -> dict[str, Any]:
    """Check, item by item, whether an order can be returned and why (window, final sale, ...).

    Args:
        order_number: The order number, e.g. "#1043".
        reason: The return reason code, e.g. wrong_size, changed_mind, damaged, defective.
    """
    ctx = runtime.context
    order = await own_order(ctx, order_number)
    prior = await _prior_returns_90d(ctx)
    now = ctx.deps.clock()
    items = []
    for item in order.line_items:
        left = item.quantity - item.returned_quantity
        decision = check_return(ctx.deps.policy, order, item, max(left, 1), reason, now, prior)
        items.append(
            {
                "item": item.name,
                "variant": item.variant_title,
                "returnable_quantity": max(left, 0),
                "eligible": decision.allowed,
                "needs_review": decision.needs_approval,
                "why": decision.reason,
            }
        )
    reasons = {k: r.label for k, r in ctx.deps.policy.returns.reasons.items()}
    return {"order_number": order.number, "items": items, "reasons": reasons}


@support_tool(ToolKind.WRITE, label="Preparing your return...")
async def start_return(
    order_number: str,
    items: list[ItemRequest],
    reason: str,
    resolution: Literal["refund", "store_credit", "exchange"],
    runtime: ToolRuntime[SupportContext],
    exchange_variant: str | None = None,
    reason_note: str | None = None,
) -> dict[str, Any]:
    """Propose a return for items of the verified customer's order. Nothing happens until the
    customer confirms: show the returned summary and ask for an explicit yes.

    Args:
        order_number: The order number, e.g. "#1043".
        items: The items to return and how many of each.
        reason: Return reason code: wrong_size, changed_mind, not_as_described, damaged,
            defective, wrong_item, arrived_late, other (give the customer's words in
            reason_note), or exception (outside the usual policy).
        resolution: refund (to the original payment), store_credit, or exchange.
        exchange_variant: For an exchange, the size/colour wanted instead (e.g. "43 / Black").
        reason_note: The customer's own words for the reason, when the reason is "other".
    """
    ctx = runtime.context
    order = await own_order(ctx, order_number)
    policy, now = ctx.deps.policy, ctx.deps.clock()
    if not items:
        raise ToolError("Say which items to return.")
    if resolution == "exchange" and not policy.returns.exchanges_allowed:
        raise ToolError("This store does not offer exchanges; offer a refund or store credit.")
    if resolution in ("refund", "store_credit"):
        method = "original_payment" if resolution == "refund" else "store_credit"
        if method not in policy.returns.refund_methods:
            raise ToolError(f"This store does not offer {resolution.replace('_', ' ')}.")
    prior = await _prior_returns_90d(ctx)
    chosen: dict[str, tuple[LineItem, int]] = {}
    for request in items:
        item = match_item(order, request.item)
        previous = chosen.get(item.id, (item, 0))[1]
        chosen[item.id] = (item, previous + request.quantity)
    decisions: list[tuple[LineItem, int, Decision]] = []
    for item, quantity in chosen.values():
        decision = check_return(policy, order, item, quantity, reason, now, prior)
        if not decision.allowed:
            raise ToolError(f"{item.name} can't be returned: {decision.reason}.")
        decisions.append((item, quantity, decision))
    exchange_sku = (
        await _exchange_sku(ctx, decisions, exchange_variant)
        if (resolution == "exchange")
        else None
    )
    value = sum((i.unit_price * q for i, q, _ in decisions), Decimal("0"))
    fee = sum((d.restocking_fee for _, _, d in decisions), Decimal("0"))
    refund = Decimal("0") if resolution == "exchange" else value - fee
    reviews = [d.reason for _, _, d in decisions if d.needs_approval]
    cap = policy.approval.auto_approve_max_value
    if value > cap and not reviews:
        reviews.append(f"returns over {_money(cap, order.currency)} are reviewed by our team")
    lines_text = ", ".join(f"{q} × {i.name} ({i.variant_title})" for i, q, _ in decisions)
    outcome = {
        "refund": f"refund {_money(refund, order.currency)} to the original payment method",
        "store_credit": f"{_money(refund, order.currency)} in store credit",
        "exchange": f"exchange for {exchange_variant}",
    }[resolution]
    label = policy.returns.reasons[reason].label
    note = " ".join((reason_note or "").split())[:200]
    if reason == "other":
        if not note:
            raise ToolError("Ask the customer why they are returning it, in their own words.")
        label = f'{label}: "{note}"'
    summary = f"Return {lines_text} from order {order.number} ({label}): {outcome}."
    if fee:
        summary += f" A restocking fee of {_money(fee, order.currency)} applies."
    if any(d.needs_photo for _, _, d in decisions):
        summary += " Please have a photo of the item ready."
    if reviews:
        summary += " Our team will review it before it goes ahead."
    lines = [
        {"line_item_id": i.id, "quantity": q, "exchange_sku": exchange_sku} for i, q, _ in decisions
    ]
    proposal = Proposal(
        kind="return",
        order_number=order.number,
        args={
            "lines": lines,
            "reason": reason,
            "resolution": resolution,
            "refund_amount": f"{refund:.2f}",
            "restocking_fee": f"{fee:.2f}",
            "reason_note": note or None,
        },
        summary=summary,
        needs_approval=bool(reviews),
        approval_reason="; ".join(reviews) or None,
        key_detail=sorted((i.id, q) for i, q, _ in decisions),
    )
    return await _proposed(ctx, proposal)


async def _exchange_sku(
    ctx: SupportContext, decisions: list[tuple[LineItem, int, Decision]], wanted: str | None
) -> str:
    if not wanted or len(decisions) != 1:
        raise ToolError("For an exchange, return one item and say which size or colour you want.")
    item = decisions[0][0]
    product = await ctx.deps.store.get_product(item.product_id)
    variants = product.variants if product else []
    text = wanted.strip().lower()
    for variant in variants:
        if text in (variant.sku.lower(), variant.title.lower()) or text in variant.title.lower():
            if variant.stock < decisions[0][1]:
                raise ToolError(f"{item.name} in {variant.title} is out of stock.")
            return variant.sku
    options = ", ".join(v.title for v in variants if v.stock > 0) or "none in stock"
    raise ToolError(f"{item.name} doesn't come in '{wanted}'. Available: {options}.")


@support_tool(ToolKind.WRITE, label="Preparing the cancellation...")
async def cancel_order(
    order_number: str, reason: str, runtime: ToolRuntime[SupportContext]
) -> dict[str, Any]:
    """Propose cancelling the verified customer's order. Only orders that have not shipped can
    be cancelled. Nothing happens until the customer confirms with an explicit yes.

    Args:
        order_number: The order number, e.g. "#1043".
        reason: Why the customer wants to cancel, in a few words.
    """
    ctx = runtime.context
    order = await own_order(ctx, order_number)
    decision = check_cancel(ctx.deps.policy, order, ctx.deps.clock())
    if not decision.allowed:
        raise ToolError(f"Order {order.number} can't be cancelled: {decision.reason}.")
    summary = (
        f"Cancel order {order.number} ({_money(order.total, order.currency)}); "
        "any payment is refunded to the original payment method."
    )
    proposal = Proposal(
        kind="cancel",
        order_number=order.number,
        args={"reason": reason[:200]},
        summary=summary,
        needs_approval=decision.needs_approval,
        approval_reason=decision.reason if decision.needs_approval else None,
        key_detail="cancel",
    )
    return await _proposed(ctx, proposal)


@support_tool(ToolKind.WRITE, label="Preparing the address change...")
async def change_shipping_address(
    order_number: str,
    line1: str,
    city: str,
    postal_code: str,
    country: str,
    runtime: ToolRuntime[SupportContext],
    line2: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """Propose a new shipping address for an order that has not shipped yet. Nothing happens
    until the customer confirms with an explicit yes.

    Args:
        order_number: The order number, e.g. "#1043".
        line1: Street and number.
        city: City.
        postal_code: Postal or ZIP code.
        country: Two-letter country code, e.g. US.
        line2: Apartment, suite, etc.
        region: State or province.
    """
    ctx = runtime.context
    order = await own_order(ctx, order_number)
    decision = check_address_change(ctx.deps.policy, order, ctx.deps.clock())
    if not decision.allowed:
        raise ToolError(f"The address of order {order.number} can't be changed: {decision.reason}.")
    complete = all(part.strip() for part in (line1, city, postal_code))
    if len(country.strip()) != 2 or not complete:
        raise ToolError("Ask for a complete address: street, city, postal code and country.")
    address = {
        "name": order.shipping_address.name,
        "line1": line1.strip()[:200],
        "line2": (line2 or "").strip()[:200] or None,
        "city": city.strip()[:100],
        "region": (region or "").strip()[:100] or None,
        "postal_code": postal_code.strip().upper()[:20],
        "country": country.strip().upper(),
    }
    where = f"{address['line1']}, {address['city']} {address['postal_code']}, {address['country']}"
    proposal = Proposal(
        kind="address_change",
        order_number=order.number,
        args={"address": address},
        summary=f"Ship order {order.number} to {where} instead.",
        needs_approval=decision.needs_approval,
        approval_reason=decision.reason if decision.needs_approval else None,
        key_detail=address,
    )
    return await _proposed(ctx, proposal)


async def _proposed(ctx: SupportContext, proposal: Proposal) -> dict[str, Any]:
    assert ctx.customer_id is not None  # own_order checked it
    action = await propose(
        ctx.deps,
        conversation_id=ctx.conversation_id,
        customer_id=ctx.customer_id,
        proposal=proposal,
    )
    return {
        "pending_action_id": action.id,
        "summary": action.summary,
        "needs_approval": action.needs_approval,
        "status": action.status,
        "instruction": ASK,
    }
