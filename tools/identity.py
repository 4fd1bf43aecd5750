"""Customer verification: the only way a conversation learns who the customer is.

Guessing is throttled beyond the conversation: failures count per order number, per email and
per client IP (`verify_failure_limit` in `verify_failure_window_s`), so opening new
conversations buys an attacker nothing. A locked key is refused with exactly the words and the
work of wrong details (the store lookup and the comparisons still run), and a right answer for a
locked key is refused too: otherwise the lock-out would tell a guesser when they hit. A wave of
failures across the store raises one staff alert.

Without the order number, the email plus the postal code of one of that email's orders verifies
too (counted against the email and IP keys), and the customer's orders are returned to choose
from. Either way one conversation is bound to one customer."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from langchain.tools import ToolRuntime

from commerce.models import normalize_email, normalize_order_number, normalize_postal_code
from errors import ToolError
from helpdesk.alerts import raise_alert
from storage import repo
from storage.throttle import UNLIMITED
from tools.base import ToolKind, support_tool
from tools.context import SupportContext
from web.clientip import ip_bucket

log = logging.getLogger(__name__)

# The one answer to every refused attempt: wrong details, unknown order, or a locked key. The
# offer of a colleague is the way on for a customer locked out by someone else's guessing.
NOT_VERIFIED = (
    "I couldn't verify those details. The order number and the email address or postal code "
    "must match the ones used at checkout. If they still don't match, I can connect you with a "
    "colleague who can verify you another way."
)
ALERT_CODE = "verification_failures"
GLOBAL_KEY = "verify:all"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


NOT_VERIFIED_BY_EMAIL = (
    "I couldn't verify those details. The email address and the postal code must match one of "
    "your orders. If you have an order number, I can check with that instead, or I can connect "
    "you with a colleague who can verify you another way."
)
# how many of the customer's orders are offered to choose from, newest first
ORDERS_OFFERED = 10


def _keys(
    ctx: SupportContext, number: str | None, order_number: str | None, email: str | None
) -> list[str]:
    """The throttle keys this attempt counts against."""
    throttle = ctx.deps.throttle
    keys = []
    if order_number is not None:
        keys.append(throttle.key("verify:order", number or order_number.strip().lower()[:100]))
    if email is not None:
        keys.append(throttle.key("verify:email", normalize_email(email)))
    if ctx.client_ip:
        keys.append(throttle.key("verify:ip", ip_bucket(ctx.client_ip)))
    return keys


async def _record_failure(ctx: SupportContext, keys: list[str]) -> None:
    """Counts a refused attempt everywhere it counts; each write in its own transaction (the
    throttle's own, then the conversation's), none nested in another."""
    deps, settings = ctx.deps, ctx.deps.settings
    async with deps.sessions.begin() as session:
        ctx.failed_verifications = await repo.count_failed_verification(
            session, ctx.conversation_id
        )
    window = settings.verify_failure_window_s
    for key in keys:
        await deps.throttle.hit(key, limit=settings.verify_failure_limit, window_s=window)
    total = await deps.throttle.hit(GLOBAL_KEY, limit=UNLIMITED, window_s=window)
    if total.count <= settings.verify_alert_threshold:
        return
    minutes = max(1, window // 60)
    text = (
        f"{total.count} failed customer verifications in the last {minutes} minutes (alert "
        f"threshold {settings.verify_alert_threshold}). Someone may be guessing order numbers, "
        "emails or postal codes; chat verification is locked per order, email and client IP "
        "after repeated failures. Customers locked out may ask for help to verify another way."
    )
    details = {
        "failures": total.count,
        "window_s": window,
        "threshold": settings.verify_alert_threshold,
        "last_client_ip": ctx.client_ip,
        "last_conversation_id": ctx.conversation_id,
    }
    try:
        async with deps.sessions.begin() as session:
            await raise_alert(session, ALERT_CODE, text, details, window_s=window)
    except Exception:  # an alert that cannot be written must not break the customer's turn
        log.exception("could not raise the %s alert", ALERT_CODE)


async def _locked(ctx: SupportContext, keys: list[str]) -> bool:
    settings = ctx.deps.settings
    window = settings.verify_failure_window_s
    counts = await ctx.deps.throttle.counts(keys, window_s=window)
    return (
        any(count >= settings.verify_failure_limit for count in counts)
        or ctx.failed_verifications >= settings.max_verify_attempts
    )


async def _bind(ctx: SupportContext, customer_id: str) -> None:
    async with ctx.deps.sessions.begin() as session:
        bound = await repo.bind_customer(session, ctx.conversation_id, customer_id)
    if not bound:
        raise ToolError(
            "This conversation is already verified for another customer. To ask about a "
            "different account, please start a new conversation."
        )
    ctx.customer_id = customer_id


async def _verify_without_order(
    ctx: SupportContext, email: str | None, postal_code: str | None
) -> dict[str, Any]:
    """The email plus the postal code of any one of that email's orders. Both are needed: an
    email alone is often known to others, and a postcode alone names a street, not a person."""
    if not (email and postal_code):
        raise ToolError(
            "Without the order number, ask for both the email address and the postal code of "
            "one of the customer's orders."
        )
    deps = ctx.deps
    wanted = normalize_postal_code(postal_code)
    orders = await deps.store.list_orders(email=normalize_email(email), limit=50)
    # every order compared, match or not: the work does not depend on where the match is
    hits = [o for o in orders if _same(wanted, normalize_postal_code(o.postal_code)) and wanted]
    owners = {o.customer_id for o in hits}
    keys = _keys(ctx, None, None, email)
    if await _locked(ctx, keys) or len(owners) != 1:
        await _record_failure(ctx, keys)
        raise ToolError(NOT_VERIFIED_BY_EMAIL)
    customer_id = owners.pop()
    await _bind(ctx, customer_id)
    mine = await deps.store.list_orders(customer_id=customer_id, limit=ORDERS_OFFERED)
    for order in mine:
        ctx.orders[order.number] = order
    return {
        "verified": True,
        "first_name": hits[0].shipping_address.name.split(" ")[0] or None,
        "orders": [
            {
                "order_number": o.number,
                "placed_on": o.created_at.date().isoformat(),
                "status": o.status.value,
                "total": f"{o.total:.2f}",
                "currency": o.currency,
                "items": ", ".join(f"{i.quantity} × {i.name}" for i in o.line_items),
            }
            for o in mine
        ],
    }


@support_tool(ToolKind.READ, label="Verifying your details...")
async def verify_customer(
    runtime: ToolRuntime[SupportContext],
    order_number: str | None = None,
    email: str | None = None,
    postal_code: str | None = None,
) -> dict[str, Any]:
    """Verify the customer's identity from an order number plus the email or postal code on it,
    or, when they don't have the order number, from their email plus the postal code of one of
    their orders (then their orders are returned for them to choose from).

    Call this before sharing any order information. Use exactly what the customer typed; never
    guess or reuse details from elsewhere. A failed check reveals nothing about whether the order
    exists: tell the customer the details did not match and ask them to check, or offer a
    colleague who can verify them another way.

    Args:
        order_number: The order number the customer gave, e.g. "#1043". Leave empty when the
            customer does not have it; then both email and postal_code are needed.
        email: The email address the customer says is on the order.
        postal_code: The postal or ZIP code of the order's shipping address.
    """
    ctx = runtime.context
    if not (order_number or "").strip():
        return await _verify_without_order(ctx, email, postal_code)
    assert order_number is not None
    deps = ctx.deps
    # the store's own formats first ("nw 104233" -> "NW-104233"), the generic reading after
    formats = await deps.store.order_number_formats()
    number = normalize_order_number(order_number, formats) or normalize_order_number(order_number)
    if not (email or postal_code):
        raise ToolError("Ask the customer for the email address or postal code on the order.")
    # the same lookup and comparisons whether or not a key is locked: timing tells nothing
    order = await deps.store.find_order(number) if number else None
    email_ok = email is not None and _same(
        normalize_email(email), normalize_email(order.email if order else "")
    )
    postal_ok = postal_code is not None and _same(
        normalize_postal_code(postal_code),
        normalize_postal_code(order.postal_code if order else ""),
    )
    matched = order is not None and (email_ok or postal_ok)
    keys = _keys(ctx, number, order_number, email)
    if await _locked(ctx, keys) or not matched or order is None:
        await _record_failure(ctx, keys)
        raise ToolError(NOT_VERIFIED)
    await _bind(ctx, order.customer_id)
    ctx.orders[order.number] = order  # get_order right after needs no second lookup
    return {
        "verified": True,
        "order_number": order.number,
        "first_name": order.shipping_address.name.split(" ")[0] or None,
    }
