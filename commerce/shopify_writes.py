"""Writes to Shopify, each exactly once per idempotency key, as far as Shopify allows.

Returns use `returnCreate`, not `returnRequest`. `returnRequest` records a *customer's request*
that waits for the merchant to approve it in Shopify; `returnCreate` is the merchant-side call
that opens the return directly (status OPEN), documented for apps that approve returns outside
Shopify. Ours are approved outside Shopify: by the policy gate, the customer's "yes" and staff.
Refunds stay with the merchant (Shopify's own refund flow once the parcel arrives).

Idempotency. These mutations take no idempotency key (Shopify's `@idempotent` directive covers
refunds and inventory, not returns, cancellations or order updates), so each write leaves a
marker derived from our key *in the same mutation* that makes the change, and every write
looks for its marker first:

- return: the marker and the request (reason, resolution, amounts) go into each return line's
  `returnReasonNote`; a replay finds the return carrying it and rebuilds the same record;
- cancel: the marker goes into the cancellation's `staffNote`; a cancelled order with our
  marker is a replay, without it a refusal;
- address: `orderUpdate` sets the address and a metafield `support_agent.idem_<marker>` at once.

Limits, stated plainly: two concurrent calls with one key *in different processes* can both
miss the marker and both write (Shopify offers no compare-and-set here). In one process a
per-key lock serialises them, and the agent's own database lets only one execution of a
pending action run (the gate's state machine), which is what makes this exactly-once overall.
A mutation that fails ambiguously (5xx, lost connection) is never blindly resent: the error is
retryable, and the next attempt, or a final check before giving up, looks for the marker first.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from commerce import shopify_mapping as m
from commerce import shopify_queries as q
from commerce.models import Address, Order, Resolution, ReturnLine, ReturnRecord
from commerce.shopify_client import ShopifyGraphQL, Sleep, raise_user_errors
from errors import BackendError

T = TypeVar("T")
_REASONS = {  # our policy's reason codes -> Shopify's ReturnReason enum
    "changed_mind": "UNWANTED",
    "not_as_described": "NOT_AS_DESCRIBED",
    "damaged": "DEFECTIVE",
    "defective": "DEFECTIVE",
    "wrong_item": "WRONG_ITEM",
    "style": "STYLE",
    "color": "COLOR",
}
_CANCEL_POLLS = 5
RawOrder = dict[str, Any]


def marker_for(idempotency_key: str) -> str:
    return "sa-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]


class ShopifyWriter:
    """The three writes. `load_order` finds an order's raw JSON by number (or None)."""

    def __init__(
        self,
        api: ShopifyGraphQL,
        load_order: Callable[[str], Awaitable[RawOrder | None]],
        sleep: Sleep,
    ) -> None:
        self.api = api
        self._load_order = load_order
        self._sleep = sleep
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def create_return(
        self,
        *,
        order_number: str,
        lines: list[ReturnLine],
        reason: str,
        resolution: Resolution,
        refund_amount: Decimal,
        restocking_fee: Decimal,
        idempotency_key: str,
    ) -> ReturnRecord:
        marker = marker_for(idempotency_key)

        async def check() -> ReturnRecord | None:
            raw = await self._require_order(order_number)
            for ret in raw.get("returns", {}).get("nodes", []):
                if m.return_marker(ret) == marker:
                    return m.return_record(
                        ret,
                        m.order(raw),
                        instructions=return_instructions,
                        idempotency_key=idempotency_key,
                    )
            return None

        async def apply() -> ReturnRecord:
            raw = await self._require_order(order_number)
            parent = m.order(raw)
            exchange_sku = next((ln.exchange_sku for ln in lines if ln.exchange_sku), None)
            note = m.return_note(
                marker=marker,
                reason=reason,
                resolution=Resolution(resolution),
                refund=refund_amount,
                fee=restocking_fee,
                exchange_sku=exchange_sku,
            )
            value = sum(
                (
                    li.unit_price * ln.quantity
                    for ln in lines
                    for li in parent.line_items
                    if li.id == ln.line_item_id
                ),
                Decimal("0"),
            )
            return_input: dict[str, Any] = {
                "orderId": raw["id"],
                "returnLineItems": [
                    {
                        "fulfillmentLineItemId": fli_id,
                        "quantity": quantity,
                        "returnReason": _REASONS.get(reason, "OTHER"),
                        "returnReasonNote": note,
                        **_restocking(restocking_fee, value),
                    }
                    for fli_id, quantity in _allocate(raw, parent, lines)
                ],
            }
            if exchange_sku:
                return_input["exchangeLineItems"] = [
                    {"variantId": await self._variant_id(ln.exchange_sku), "quantity": ln.quantity}
                    for ln in lines
                    if ln.exchange_sku
                ]
            data = await self.api.execute(
                "ReturnCreate", q.RETURN_CREATE, {"returnInput": return_input}, mutation=True
            )
            payload = data["returnCreate"]
            raise_user_errors(payload.get("userErrors"), "open the return")
            ret = payload["return"]
            return ReturnRecord(
                id=ret["id"],
                rma=ret["name"],
                order_number=parent.number,
                customer_id=parent.customer_id,
                lines=lines,
                reason=reason,
                resolution=Resolution(resolution),
                refund_amount=refund_amount,
                restocking_fee=restocking_fee,
                status=(ret.get("status") or "open").lower(),
                instructions=return_instructions(ret["name"], Resolution(resolution)),
                created_at=m.when(ret.get("createdAt")) or datetime.now(UTC),
                idempotency_key=idempotency_key,
            )

        return await self._once(idempotency_key, check, apply)

    async def cancel_order(self, *, order_number: str, reason: str, idempotency_key: str) -> Order:
        marker = marker_for(idempotency_key)

        async def check() -> Order | None:
            raw = await self._require_order(order_number)
            if not raw.get("cancelledAt"):
                return None
            if marker in ((raw.get("cancellation") or {}).get("staffNote") or ""):
                return m.order(raw)
            raise BackendError(f"order {raw['name']} is already cancelled")

        async def apply() -> Order:
            raw = await self._require_order(order_number)
            if raw.get("fulfillments") or raw.get("displayFulfillmentStatus") != "UNFULFILLED":
                raise BackendError(f"order {raw['name']} has already shipped; cannot cancel it")
            data = await self.api.execute(
                "OrderCancel",
                q.ORDER_CANCEL,
                {
                    "orderId": raw["id"],
                    "reason": "CUSTOMER",
                    "refundMethod": {"originalPaymentMethodsRefund": True},
                    "restock": True,
                    "notifyCustomer": True,
                    "staffNote": f"{reason.strip()[:200]} [support-agent {marker}]",
                },
                mutation=True,
            )
            payload = data["orderCancel"]
            raise_user_errors(payload.get("orderCancelUserErrors"), "cancel the order")
            await self._wait_for_job(payload.get("job"))
            done = await self._require_order(order_number)
            if not done.get("cancelledAt"):
                raise BackendError("Shopify is still cancelling the order", retryable=True)
            return m.order(done)

        return await self._once(idempotency_key, check, apply)

    async def update_shipping_address(
        self, *, order_number: str, address: Address, idempotency_key: str
    ) -> Order:
        key = "idem_" + marker_for(idempotency_key).removeprefix("sa-")

        async def check() -> Order | None:
            raw = await self._require_order(order_number)
            data = await self.api.execute(
                "OrderMarker", q.ORDER_MARKER, {"id": raw["id"], "key": key}
            )
            return m.order(raw) if (data.get("order") or {}).get("metafield") else None

        async def apply() -> Order:
            raw = await self._require_order(order_number)
            if raw.get("cancelledAt"):
                raise BackendError(f"order {raw['name']} is cancelled")
            if raw.get("fulfillments") or raw.get("displayFulfillmentStatus") != "UNFULFILLED":
                raise BackendError(f"order {raw['name']} has already shipped; cannot change it")
            metafield = {
                "namespace": "support_agent",
                "key": key,
                "type": "single_line_text_field",
                "value": idempotency_key[:255],
            }
            data = await self.api.execute(
                "OrderUpdate",
                q.ORDER_UPDATE,
                {
                    "input": {
                        "id": raw["id"],
                        "shippingAddress": m.address_input(address),
                        "metafields": [metafield],
                    }
                },
                mutation=True,
            )
            payload = data["orderUpdate"]
            raise_user_errors(payload.get("userErrors"), "change the shipping address")
            return m.order(payload["order"])

        return await self._once(idempotency_key, check, apply)

    async def _once(
        self,
        idempotency_key: str,
        check: Callable[[], Awaitable[T | None]],
        apply: Callable[[], Awaitable[T]],
    ) -> T:
        """Check the marker, apply if absent; after an ambiguous failure check again before
        any retry, and once more before giving up (the write may have landed)."""
        if not idempotency_key:
            raise BackendError("a write needs an idempotency key")
        lock = self._locks.setdefault(idempotency_key, asyncio.Lock())
        async with lock:
            for attempt in range(self.api.max_retries + 1):
                found = await check()
                if found is not None:
                    return found
                try:
                    return await apply()
                except BackendError as exc:
                    if not exc.retryable or attempt == self.api.max_retries:
                        found = await check()
                        if found is not None:
                            return found
                        raise
                await self._sleep(self.api.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    async def _require_order(self, number: str) -> dict[str, Any]:
        raw = await self._load_order(number)
        if raw is None:
            raise BackendError(f"order {number} does not exist")
        return raw

    async def _variant_id(self, sku: str | None) -> str:
        data = await self.api.execute(
            "VariantBySku", q.VARIANT_BY_SKU, {"query": f"sku:{q.quoted(sku or '')}"}
        )
        nodes = data["productVariants"]["nodes"]
        if not nodes or nodes[0].get("sku") != sku:
            raise BackendError(f"{sku} is not a variant this store sells")
        return str(nodes[0]["id"])

    async def _wait_for_job(self, job: dict[str, Any] | None) -> None:
        for attempt in range(_CANCEL_POLLS):
            if not job or job.get("done"):
                return
            await self._sleep(0.5 * (attempt + 1))
            job = (await self.api.execute("Job", q.JOB, {"id": job["id"]})).get("job")


def _allocate(raw: dict[str, Any], parent: Order, lines: list[ReturnLine]) -> list[tuple[str, int]]:
    """Our line-item quantities -> Shopify fulfillment line items with room left to return."""
    used: dict[str, int] = {}
    for ret in raw.get("returns", {}).get("nodes", []):
        if ret.get("status") in ("CANCELED", "DECLINED"):
            continue
        for line in ret["returnLineItems"]["nodes"]:
            fli = line.get("fulfillmentLineItem")
            if fli:
                used[fli["id"]] = used.get(fli["id"], 0) + int(line["quantity"])
    names = {li.id: li.name for li in parent.line_items}
    out: list[tuple[str, int]] = []
    for line in lines:
        if line.line_item_id not in names:
            raise BackendError(f"{line.line_item_id} is not an item of order {parent.number}")
        wanted = line.quantity
        for fulfillment in raw.get("fulfillments") or []:
            for fli in fulfillment["fulfillmentLineItems"]["nodes"]:
                if fli["lineItem"]["id"] != line.line_item_id or wanted == 0:
                    continue
                take = min(wanted, int(fli["quantity"]) - used.get(fli["id"], 0))
                if take > 0:
                    out.append((fli["id"], take))
                    used[fli["id"]] = used.get(fli["id"], 0) + take
                    wanted -= take
        if wanted:
            left = line.quantity - wanted
            raise BackendError(
                f"only {left} of {names[line.line_item_id]} from order {parent.number} "
                "can still be returned"
            )
    return out


def _restocking(fee: Decimal, value: Decimal) -> dict[str, Any]:
    if fee <= 0 or value <= 0:
        return {}
    return {"restockingFee": {"percentage": float(round(fee / value * 100, 2))}}


def return_instructions(rma: str, resolution: Resolution) -> str:
    """Next steps for a Shopify return. Labels and addresses are the merchant's, sent by email."""
    after = {
        Resolution.REFUND: "Your refund is issued once we receive and check the items.",
        Resolution.STORE_CREDIT: "Your store credit is issued once we receive and check the items.",
        Resolution.EXCHANGE: "We ship your replacement once we receive the items.",
    }[resolution]
    return (
        f"Return {rma} is open. We'll email you the return shipping instructions. Pack the "
        f"unworn items with their tags attached and write {rma} on the parcel. {after}"
    )
