"""Customer verification: the only way a conversation learns who the customer is."""

from __future__ import annotations

import hmac
from typing import Any

from langchain.tools import ToolRuntime

from commerce.models import normalize_email, normalize_order_number, normalize_postal_code
from errors import ToolError
from storage import repo
from tools.base import ToolKind, support_tool
from tools.context import SupportContext

NOT_VERIFIED = (
    "I couldn't verify those details. The order number and the email address or postal code "
    "must match the ones used at checkout."
)
LOCKED = (
    "Too many verification attempts in this conversation. For your security, please contact our "
    "team, who can verify you another way."
)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@support_tool(ToolKind.READ, label="Verifying your details...")
async def verify_customer(
    order_number: str,
    runtime: ToolRuntime[SupportContext],
    email: str | None = None,
    postal_code: str | None = None,
) -> dict[str, Any]:
    """Verify the customer's identity from an order number plus the email or postal code on it.

    Call this before sharing any order information. Use exactly what the customer typed; never
    guess or reuse details from elsewhere. A failed check reveals nothing about whether the order
    exists: tell the customer the details did not match and ask them to check.

    Args:
        order_number: The order number the customer gave, e.g. "#1043".
        email: The email address the customer says is on the order.
        postal_code: The postal or ZIP code of the order's shipping address.
    """
    ctx = runtime.context
    limit = ctx.deps.settings.max_verify_attempts
    if ctx.failed_verifications >= limit:
        raise ToolError(LOCKED)
    number = normalize_order_number(order_number)
    if not (email or postal_code):
        raise ToolError("Ask the customer for the email address or postal code on the order.")
    order = await ctx.deps.store.find_order(number) if number else None
    matched = order is not None and (
        (email is not None and _same(normalize_email(email), normalize_email(order.email)))
        or (
            postal_code is not None
            and _same(normalize_postal_code(postal_code), normalize_postal_code(order.postal_code))
        )
    )
    # decide inside the transaction, raise after it: a refusal must still commit its count
    refusal: str | None = None
    async with ctx.deps.sessions.begin() as session:
        if not matched or order is None:
            ctx.failed_verifications = await repo.count_failed_verification(
                session, ctx.conversation_id
            )
            refusal = LOCKED if ctx.failed_verifications >= limit else NOT_VERIFIED
        elif not await repo.bind_customer(session, ctx.conversation_id, order.customer_id):
            refusal = (
                "This conversation is already verified for another customer. To ask about a "
                "different account, please start a new conversation."
            )
    if refusal is not None or order is None:
        raise ToolError(refusal or NOT_VERIFIED)
    ctx.customer_id = order.customer_id
    ctx.orders[order.number] = order  # get_order right after needs no second lookup
    return {
        "verified": True,
        "order_number": order.number,
        "first_name": order.shipping_address.name.split(" ")[0] or None,
    }
