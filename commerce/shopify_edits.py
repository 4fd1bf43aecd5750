"""Order edits and the saved address on Shopify: the Admin API's order-editing session
(orderEditBegin, orderEditSetQuantity / orderEditAddVariant, orderEditCommit) and
customerAddressCreate(setAsDefault).

Idempotency. Order edits take no idempotency key and leave no marker we can read back, so a
write checks the order's *state* first: when every edited line already has the confirmed sku
and quantity and the total is the confirmed one, the edit has landed and its result is returned
without a second session. A swap is "old line to 0, restocked; new variant added", so the new
line is found by sku. The saved address is the same: a default address equal to ours is a
replay. Commits are never blindly resent (ShopifyWriter._once checks again first)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from commerce import shopify_mapping as m
from commerce.edits import EditAction, OrderEdit, lines_after
from commerce.models import Address, Customer, Order
from commerce.shopify_client import ShopifyGraphQL, raise_user_errors
from commerce.shopify_writes import ShopifyWriter
from errors import BackendError

_ERRORS = "userErrors { field message }"
EDIT_STATE = """
query EditState($id: ID!) {
  order(id: $id) {
    id name displayFulfillmentStatus cancelledAt
    totalPriceSet: currentTotalPriceSet { shopMoney { amount } }
    lineItems(first: 100) { nodes { id sku currentQuantity } }
  }
}
"""
EDIT_BEGIN = f"""
mutation OrderEditBegin($id: ID!) {{
  orderEditBegin(id: $id) {{
    calculatedOrder {{ id lineItems(first: 100) {{ nodes {{ id sku quantity }} }} }}
    {_ERRORS}
  }}
}}
"""
EDIT_SET_QUANTITY = f"""
mutation OrderEditSetQuantity($id: ID!, $lineItemId: ID!, $quantity: Int!) {{
  orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity, restock: true) {{
    calculatedOrder {{ id }}
    {_ERRORS}
  }}
}}
"""
EDIT_ADD_VARIANT = f"""
mutation OrderEditAddVariant($id: ID!, $variantId: ID!, $quantity: Int!) {{
  orderEditAddVariant(id: $id, variantId: $variantId, quantity: $quantity) {{
    calculatedLineItem {{ id }}
    {_ERRORS}
  }}
}}
"""
EDIT_COMMIT = f"""
mutation OrderEditCommit($id: ID!, $staffNote: String) {{
  orderEditCommit(id: $id, notifyCustomer: true, staffNote: $staffNote) {{
    order {{ id }}
    {_ERRORS}
  }}
}}
"""
ADDRESS_CREATE = f"""
mutation CustomerAddressCreate($customerId: ID!, $address: MailingAddressInput!) {{
  customerAddressCreate(customerId: $customerId, address: $address, setAsDefault: true) {{
    address {{ id }}
    {_ERRORS}
  }}
}}
"""


def _tail(gid: str) -> str:
    return re.sub(r"^.*/", "", gid)


class ShopifyEditor:
    """The two writes, over ShopifyWriter's API client, order loader and `_once` loop."""

    def __init__(self, writer: ShopifyWriter, get_customer: Any) -> None:
        self._writer = writer
        self._get_customer = get_customer

    @property
    def api(self) -> ShopifyGraphQL:
        return self._writer.api

    async def edit_order(
        self,
        *,
        order_number: str,
        edits: list[OrderEdit],
        expected_total: Decimal,
        idempotency_key: str,
    ) -> Order:
        writer = self._writer
        raw = await writer._require_order(order_number)  # noqa: SLF001 (one package)
        before = m.order(raw)
        try:
            target = {sku: q for sku, q, _ in lines_after(before, edits).values()}
        except ValueError:
            target = {}  # the lines moved on: only a landed replay can still match

        async def state() -> tuple[dict[str, int], Decimal, dict[str, Any]]:
            data = await self.api.execute("EditState", EDIT_STATE, {"id": raw["id"]})
            order = data.get("order") or {}
            lines: dict[str, int] = {}
            for node in order.get("lineItems", {}).get("nodes", []):
                if int(node.get("currentQuantity") or 0) > 0:
                    lines[node.get("sku") or ""] = lines.get(node.get("sku") or "", 0) + int(
                        node["currentQuantity"]
                    )
            total = Decimal(order.get("totalPriceSet", {}).get("shopMoney", {}).get("amount", "0"))
            return lines, total, order

        async def check() -> Order | None:
            lines, total, _ = await state()
            touched = set(target)
            landed = all(lines.get(s) == target[s] for s in touched)
            if target and landed and total == expected_total:
                return await self._edited(order_number, lines)
            return None

        async def apply() -> Order:
            if not target:
                raise BackendError(
                    f"order {before.number} changed since the customer confirmed; nothing changed"
                )
            if raw.get("cancelledAt") or raw.get("displayFulfillmentStatus") != "UNFULFILLED":
                raise BackendError(f"order {before.number} has shipped or is cancelled")
            begun = await self.api.execute(
                "OrderEditBegin", EDIT_BEGIN, {"id": raw["id"]}, mutation=True
            )
            payload = begun["orderEditBegin"]
            raise_user_errors(payload.get("userErrors"), "begin editing the order")
            calc = payload["calculatedOrder"]
            calc_lines = {_tail(n["id"]): n["id"] for n in calc["lineItems"]["nodes"]}
            for edit in edits:
                line_id = calc_lines.get(_tail(edit.line_item_id))
                if line_id is None:
                    raise BackendError(f"line {edit.line_item_id} is not on order {before.number}")
                quantity = 0 if edit.action is not EditAction.SET_QUANTITY else edit.quantity
                units = None
                if edit.action is EditAction.SWAP_VARIANT:
                    old = next(i for i in before.line_items if i.id == edit.line_item_id)
                    units = min(edit.units or old.quantity, old.quantity)
                    quantity = old.quantity - units  # a partial swap keeps the rest
                await self._mutate(
                    "OrderEditSetQuantity",
                    EDIT_SET_QUANTITY,
                    {"id": calc["id"], "lineItemId": line_id, "quantity": quantity},
                )
                if units is not None:
                    variant = await writer._variant_id(edit.new_sku)  # noqa: SLF001
                    await self._mutate(
                        "OrderEditAddVariant",
                        EDIT_ADD_VARIANT,
                        {"id": calc["id"], "variantId": variant, "quantity": units},
                    )
            await self._mutate(
                "OrderEditCommit",
                EDIT_COMMIT,
                {"id": calc["id"], "staffNote": f"support agent {idempotency_key[:40]}"},
            )
            lines, total, _ = await state()
            if total != expected_total:
                raise BackendError(
                    f"Shopify priced the edit at {total}, not the confirmed {expected_total}; "
                    "please check the order"
                )
            return await self._edited(order_number, lines)

        return await writer._once(idempotency_key, check, apply)  # noqa: SLF001

    async def update_default_address(
        self, *, customer_id: str, address: Address, idempotency_key: str
    ) -> Customer:
        async def check() -> Customer | None:
            customer = await self._get_customer(customer_id)
            if customer is None:
                raise BackendError(f"customer {customer_id} does not exist")
            saved = customer.default_address
            same = saved is not None and (
                saved.line1,
                saved.city,
                saved.postal_code,
                saved.country,
            ) == (address.line1, address.city, address.postal_code, address.country)
            return customer if same else None

        async def apply() -> Customer:
            gid = (
                customer_id
                if customer_id.startswith("gid://")
                else (f"gid://shopify/Customer/{customer_id}")
            )
            await self._mutate(
                "CustomerAddressCreate",
                ADDRESS_CREATE,
                {"customerId": gid, "address": m.address_input(address)},
                payload="customerAddressCreate",
            )
            customer = await self._get_customer(customer_id)
            assert customer is not None
            return customer

        return await self._writer._once(idempotency_key, check, apply)  # noqa: SLF001

    async def _mutate(
        self, name: str, query: str, variables: dict[str, Any], payload: str | None = None
    ) -> dict[str, Any]:
        data = await self.api.execute(name, query, variables, mutation=True)
        key = payload or name[0].lower() + name[1:]
        body = data[key]
        raise_user_errors(body.get("userErrors"), "edit the order")
        return dict(body)

    async def _edited(self, order_number: str, lines: dict[str, int]) -> Order:
        """The order as Shopify now holds it; lines at their current quantity, removed ones gone."""
        raw = await self._writer._require_order(order_number)  # noqa: SLF001
        order = m.order(raw)
        kept = [
            i.model_copy(update={"quantity": lines[i.sku]})
            for i in order.line_items
            if lines.get(i.sku, 0) > 0
        ]
        return order.model_copy(update={"line_items": kept})
