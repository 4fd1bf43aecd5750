"""Returns, cancellations and address changes: policy checked in code, then a proposal that
waits for the customer's "yes" (and staff approval above the store's rules)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from langchain.tools import ToolRuntime
from pydantic import BaseModel, Field

from commerce.models import LineItem, Order, OrderStatus, Variant
from commerce.policy import Decision, check_address_change, check_cancel, check_return
from errors import ToolError
from tools.actions import Proposal, propose
from tools.base import ToolKind, support_tool
from tools.context import SupportContext
from tools.orders import own_order
from tools.variant_match import choose_variant

ASK = "Nothing has been done yet. Show the summary and ask the customer to reply yes to confirm."


class ItemRequest(BaseModel):
    item: str = Field(description="Item name, SKU or line id as it appears on the order")
    quantity: int = Field(default=1, description="How many of that item")
    exchange_for: str | None = Field(
        default=None,
        description="For an exchange, the options wanted for this item in the customer's words "
        "(e.g. 'L in navy'); defaults to exchange_variant",
    )


def _plain(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def match_item(order: Order, wanted: str) -> LineItem:
    """Finds the line item a customer means: id, SKU, then name (with or without variant).
    Two lines of one product are told apart by their variant ("Tee (M / Black)", "the black
    tee in M"): the line whose variant values are all in the text."""
    text = wanted.strip().lower()
    for item in order.line_items:
        if text in (item.id.lower(), item.sku.lower()):
            return item
    plain = _plain(wanted)
    hits = [
        i
        for i in order.line_items
        if plain and (plain in _plain(f"{i.name} {i.variant_title}") or _plain(i.name) in plain)
    ]
    words = set(plain.split())
    if not hits:  # "the tee in L": the product's last word names it
        tails = {i.id: (_plain(i.name).split() or [""])[-1] for i in order.line_items}
        hits = [i for i in order.line_items if {tails[i.id], f"{tails[i.id]}s"} & words]
    if len(hits) > 1:
        exact = [i for i in hits if set(_plain(i.variant_title).split()) <= words]
        if not exact:  # "the one in 42": a value only that line has
            shared = set.intersection(*(set(_plain(i.variant_title).split()) for i in hits))
            exact = [i for i in hits if (set(_plain(i.variant_title).split()) - shared) & words]
        hits = exact or hits
    if len(hits) == 1:
        return hits[0]
    names = "; ".join(f"{i.name} ({i.variant_title})" for i in order.line_items)
    if hits:
        which = "; ".join(f"{i.name} ({i.variant_title})" for i in hits)
        raise ToolError(f"'{wanted}' matches several items on order {order.number}: {which}")
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
    return {
        "order_number": order.number,
        "order_status": order.status.value,  # an exchange before shipping is an item change
        "items": items,
        "reasons": reasons,
    }


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
        exchange_variant: For an exchange, the options wanted instead, in the customer's words
            (size, colour, capacity, ...: "43 black", "the blue one in M").
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
    wanted: dict[str, str | None] = {}
    for request in items:
        item = match_item(order, request.item)
        previous = chosen.get(item.id, (item, 0))[1]
        chosen[item.id] = (item, previous + request.quantity)
        wanted[item.id] = request.exchange_for or wanted.get(item.id) or exchange_variant
    decisions: list[tuple[LineItem, int, Decision]] = []
    for item, quantity in chosen.values():
        decision = check_return(policy, order, item, quantity, reason, now, prior)
        if not decision.allowed:
            raise ToolError(f"{item.name} can't be returned: {decision.reason}.")
        decisions.append((item, quantity, decision))
    swaps = await _exchanges(ctx, decisions, wanted) if resolution == "exchange" else {}
    value = sum((i.unit_price * q for i, q, _ in decisions), Decimal("0"))
    fee = sum((d.restocking_fee for _, _, d in decisions), Decimal("0"))
    # an exchange for a dearer variant is charged the difference, a cheaper one refunded
    difference = sum(
        ((swaps[i.id].price - i.unit_price) * q for i, q, _ in decisions if i.id in swaps),
        Decimal("0"),
    )
    if difference and policy.edits.price_difference == "same_price_only":
        raise ToolError("This store only exchanges for a variant at the same price.")
    refund = max(-difference, Decimal("0")) if resolution == "exchange" else value - fee
    reviews = [d.reason for _, _, d in decisions if d.needs_approval]
    cap = policy.approval.auto_approve_max_value
    if value > cap and not reviews:
        reviews.append(f"returns over {_money(cap, order.currency)} are reviewed by our team")
    lines_text = ", ".join(f"{q} × {i.name} ({i.variant_title})" for i, q, _ in decisions)
    if resolution == "exchange":
        outcome = _exchange_text(decisions, swaps, difference, order.currency)
    elif resolution == "store_credit":
        outcome = f"{_money(refund, order.currency)} in store credit"
    else:
        outcome = f"refund {_money(refund, order.currency)} to the original payment method"
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
        {
            "line_item_id": i.id,
            "quantity": q,
            "exchange_sku": swaps[i.id].sku if i.id in swaps else None,
        }
        for i, q, _ in decisions
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
            "price_difference": f"{difference:.2f}",
        },
        summary=summary,
        needs_approval=bool(reviews),
        approval_reason="; ".join(reviews) or None,
        key_detail=sorted(
            (line["line_item_id"], line["quantity"], line["exchange_sku"] or "") for line in lines
        ),
    )
    return await _proposed(ctx, proposal)


async def _exchanges(
    ctx: SupportContext,
    decisions: list[tuple[LineItem, int, Decision]],
    wanted: dict[str, str | None],
) -> dict[str, Variant]:
    """line id -> the variant each returned item is exchanged for (tools/variant_match.py:
    any mix of option values; asks when several fit or the one meant is unavailable)."""
    swaps: dict[str, Variant] = {}
    for item, quantity, _ in decisions:
        text = (wanted.get(item.id) or "").strip()
        if not text:
            raise ToolError(f"Ask which size, colour or other option of {item.name} they want.")
        product = await ctx.deps.store.get_product(item.product_id)
        if product is None:
            raise ToolError(f"{item.name} is no longer sold; offer a refund or store credit.")
        swaps[item.id] = choose_variant(product, text, current_sku=item.sku, quantity=quantity)
    return swaps


def _exchange_text(
    decisions: list[tuple[LineItem, int, Decision]],
    swaps: dict[str, Variant],
    difference: Decimal,
    currency: str,
) -> str:
    parts = [
        f"{q} × {i.name} ({swaps[i.id].title}) in exchange for your {i.variant_title}"
        for i, q, _ in decisions
    ]
    text = "we send " + "; ".join(parts)
    if difference > 0:
        paid = _money(difference, currency)
        return f"{text}; the {paid} difference is charged to the original payment method"
    if difference < 0:
        back = _money(-difference, currency)
        return f"{text}; the {back} difference is refunded to the original payment method"
    return text + " at no price difference"


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
        instead = _return_instead(ctx, order)
        raise ToolError(f"Order {order.number} can't be cancelled: {decision.reason}.{instead}")
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


def _return_instead(ctx: SupportContext, order: Order) -> str:
    """What a customer too late to cancel can do instead: return it, once it is there."""
    if order.status is OrderStatus.DELIVERED:
        when = "It has been delivered, so you can"
    elif order.status in (OrderStatus.SHIPPED, OrderStatus.PARTIALLY_SHIPPED):
        when = "Once it arrives, you can"
    else:
        return ""
    days = ctx.deps.policy.returns.window_days
    return f" {when} return it instead, within {days} days of delivery."


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
