"""Order flows of the offline engine: status, returns, cancellation, address change and refund
status. Each needs a verified customer and an order number first; the tools enforce policy and
the runner's gate asks for the customer's yes, so the engine only gathers and explains."""

from __future__ import annotations

from typing import Any

from agent.local.entities import Entities, find_address
from agent.local.phrases import phrase
from agent.local.replies import order_reply, refunds_reply, say
from agent.local.slots import (
    asks_removal,
    find_changes,
    find_items,
    find_reason,
    find_resolution,
    find_variant,
    names_something,
    parse_address,
    reason_of,
    variant_words,
)
from agent.local.state import ORDER_FLOWS, Decision, State, call


def order_flow(state: State, found: Entities, text: str, tools: set[str]) -> Decision:
    if found.order_number and found.order_number != state.order_number:
        if state.order_number and state.flow != "order_status":
            state.reset_action()
        state.order_number = found.order_number
    if found.email:
        state.email = found.email
        state.postal_code = found.postal_code or (None if state.order_number else state.postal_code)
    elif found.postal_code:
        state.postal_code = found.postal_code
        state.email = None if state.order_number else state.email
    _collect_action_slots(state, text)
    if not state.verified:
        return _verify(state, tools)
    if state.flow == "refund_status":
        return call(state, tools, "list_returns")
    if not state.order_number:
        if "list_orders" in tools and state.awaiting != "order_number":
            # verified without a number (a signed storefront login, email + postcode): their
            # recent orders to choose from instead of asking them to find the number
            return call(state, tools, "list_orders")
        return _ask(state, "order_number", say("ask_which_order"))
    return _next_action_step(state, tools)


def _choose_order(
    state: State, orders: list[dict[str, Any]], tools: set[str], template: str = "choose_order"
) -> Decision:
    """The customer's orders to pick from; with exactly one, that one (nothing to choose)."""
    if len(orders) == 1:
        state.order_number = orders[0]["order_number"]
        return _next_action_step(state, tools)
    if not orders:
        state.flow = None
        state.reset_action()
        return Decision(state, text=say("no_orders"))
    return _ask(state, "order_number", say(template, orders=listed_orders(orders)))


def listed_orders(orders: list[dict[str, Any]]) -> str:
    """One line per order: number, date, status, what is in it (names or a count), total."""
    lines = []
    for o in orders:
        items = o.get("items")
        if isinstance(items, int):
            items = f"{items} item{'s' if items != 1 else ''}"
        total = f", total {o['total']}" if o.get("total") else ""
        status = str(o["status"]).replace("_", " ")
        lines.append(f"- {o['order_number']} placed {o['placed_on']} ({status}): {items}{total}")
    return "\n".join(lines)


def _collect_action_slots(state: State, text: str) -> None:
    if state.flow == "return_request":
        if state.asked is None and text.strip():
            # the request in the customer's words: the items it names once the order's are
            # known, and an edit instead if the order has not shipped (_edit_instead)
            state.asked = text
        state.reason = find_reason(text) or state.reason
        if state.awaiting == "reason" and state.reason is None and not find_resolution(text):
            # an answer to "what's the reason?" that no rule knows: "other", in their words
            state.reason, state.reason_note = reason_of(text)
        state.resolution = find_resolution(text) or state.resolution
        if (state.awaiting == "variant" or find_variant(text)) and names_something(text):
            # the whole message: the tool matches any mix of option values against the product
            state.variant = variant_words(text) or state.variant
        if state.items:
            state.chosen = find_items(text, _labelled(state.items)) or state.chosen
    elif state.flow == "order_edit" and state.awaiting == "change":
        state.question = text  # the change, said again or said better
    elif state.flow == "address_change" and (state.awaiting == "address" or find_address(text)):
        state.address = parse_address(text) or (None if state.awaiting else state.address)


def _verify(state: State, tools: set[str]) -> Decision:
    if state.order_number and state.credential:
        attempt = f"{state.order_number}|{state.credential}"
        if attempt not in state.tried:
            state.tried.append(attempt)
            args: dict[str, Any] = {"order_number": state.order_number}
            args.update(
                {"email": state.email} if state.email else {"postal_code": state.postal_code}
            )
            return call(state, tools, "verify_customer", **args)
        return Decision(state, text=say("verify_failed", error="Those details still don't match."))
    if state.order_number:
        return _ask(state, "credential", say("ask_credential", order_number=state.order_number))
    if state.email and state.postal_code:
        # no order number: the email plus the postal code of one of their orders
        attempt = f"email|{state.email}|{state.postal_code}"
        if attempt not in state.tried:
            state.tried.append(attempt)
            return call(
                state, tools, "verify_customer", email=state.email, postal_code=state.postal_code
            )
        return Decision(state, text=say("verify_failed", error="Those details still don't match."))
    if state.email:
        return _ask(state, "order_number", say("ask_order_number_or_postal"))
    if state.credential:
        return _ask(state, "order_number", say("ask_order_number"))
    return _ask(state, "order_number", say("ask_order_and_credential"))


def _ask(state: State, slot: str, text: str) -> Decision:
    state.awaiting = slot
    return Decision(state, text=text)


def _next_action_step(state: State, tools: set[str]) -> Decision:
    number = state.order_number
    asked, state.awaiting = state.awaiting, None
    if state.flow == "order_status":
        return call(state, tools, "get_order", order_number=number)
    if state.flow == "order_edit":
        return _edit_step(state, tools)
    if state.flow == "cancel_request":
        return call(state, tools, "cancel_order", order_number=number, reason="customer request")
    if state.flow == "address_change":
        if not state.address and asked != "address" and "get_order" in tools:
            # the order's state first: a shipped order is refused before the address is asked
            return call(state, tools, "get_order", order_number=number)
        if not state.address:
            return _ask(state, "address", say("ask_address", order_number=number))
        return call(
            state,
            tools,
            "change_shipping_address",
            order_number=number,
            **{k: v for k, v in state.address.items() if v is not None},
        )
    # return_request
    if not state.items:
        return call(
            state,
            tools,
            "check_return_eligibility",
            order_number=number,
            reason=state.reason or "changed_mind",
        )
    eligible = [i for i in state.items if i["eligible"]]
    if not state.chosen:
        if len(eligible) == 1:
            state.chosen = [{"item": eligible[0]["item"], "quantity": 1}]
        else:
            names = ", ".join(f"{i['item']} ({i['variant']})" for i in eligible)
            return _ask(state, "items", say("ask_return_items", items=names))
    if not state.reason:
        return _ask(state, "reason", say("ask_return_reason"))
    if not state.resolution:
        return _ask(state, "resolution", say("ask_resolution"))
    if state.resolution == "exchange" and not state.variant:
        return _ask(state, "variant", say("ask_variant"))
    args: dict[str, Any] = {
        "order_number": number,
        "items": state.chosen,
        "reason": state.reason,
        "resolution": state.resolution,
    }
    if state.resolution == "exchange":
        args["exchange_variant"] = state.variant
    if state.reason_note:
        args["reason_note"] = state.reason_note
    return call(state, tools, "start_return", **args)


def after_order_tool(
    name: str, failed: bool, content: str, data: dict[str, Any], state: State, tools: set[str]
) -> Decision:
    if name == "verify_customer":
        if failed:
            state.email = state.postal_code = None
            return _ask(state, "credential", say("verify_failed", error=content))
        state.verified = True
        if state.flow == "refund_status":
            return call(state, tools, "list_returns")
        orders = data.get("orders") or []
        if not state.order_number and orders:
            return _choose_order(state, orders, tools)
        return _next_action_step(state, tools)
    if failed and name == "change_order_items" and _asks_variant(content):
        state.awaiting = "change"  # which variant, or which line: the flow waits for it
        return Decision(state, text=content)
    if failed and name == "start_return" and state.variant and _asks_variant(content):
        # which variant: several fit, none does, or it is out of stock; ask, keep the return
        state.variant, state.awaiting = None, "variant"
        return Decision(state, text=content)
    if failed:
        flow_over = name not in ("check_return_eligibility",)
        if flow_over:
            state.flow = None
            state.reset_action()
        return Decision(state, text=say("order_error", error=content))
    if name == "list_orders" and state.flow in ORDER_FLOWS and not state.order_number:
        return _choose_order(state, data.get("orders") or [], tools, "choose_your_order")
    if name == "get_order" and state.flow == "order_edit":
        # a shipped or delivered order: refused before the customer is asked what to change
        if refused := _change_refused(state, data, "items"):
            return refused
        state.items = [
            {"item": f"{i['name']} ({i['variant']})", "quantity": i["quantity"]}
            for i in data.get("items", [])
        ]
        return _edit_step(state, tools)
    if name == "get_order" and state.flow == "address_change":
        if refused := _change_refused(state, data, "address"):
            return refused
        return _ask(state, "address", say("ask_address", order_number=state.order_number))
    if name == "get_order":
        state.flow = None
        if state.intent == "delivery_problem":
            # the order's facts first, then a person to put it right
            state.offer = "human"
            return Decision(state, text=f"{order_reply(data)}\n\n{phrase('delivery_problem')}")
        return Decision(state, text=order_reply(data))
    if name == "list_returns":
        state.flow = None
        return Decision(state, text=refunds_reply(data, order_number=state.order_number))
    if name == "check_return_eligibility":
        state.items = data.get("items", [])
        eligible = [i for i in state.items if i["eligible"]]
        if not state.chosen and state.asked and len(eligible) > 1:
            # "return the jacket in XS / Black": the first message named the item
            state.chosen = find_items(state.asked, _labelled(eligible))
        if not eligible and _edit_instead(state, data, tools):
            # "change it to a size smaller" on an order not shipped yet: the item itself changes
            wanted, asked, exchange = state.variant, state.asked, state.resolution == "exchange"
            state.flow, state.items = "order_edit", []
            state.reset_action()
            # the customer's own words when they name the changes ("swap the tee for the navy
            # one and remove the mug"), else the wanted variant alone
            state.question = f"to {wanted}" if wanted and exchange else asked
            return _edit_step(state, tools)
        refused = _named_and_refused(state)
        if refused:
            # "can I return the socks?": the item they asked about is refused, whatever else
            # the order holds
            why = "; ".join(i["why"] for i in refused)
            names = ", ".join(i["item"] for i in refused)
            state.flow = None
            state.reset_action()
            return Decision(
                state,
                text=say("item_not_returnable", items=names, why=why),
                flags={"policy_refusal": True},
            )
        if not eligible:
            why = "; ".join(f"{i['item']}: {i['why']}" for i in state.items)
            state.flow = None
            state.reset_action()
            return Decision(
                state, text=say("nothing_returnable", why=why), flags={"policy_refusal": True}
            )
        return _next_action_step(state, tools)
    if name in ("start_return", "cancel_order", "change_shipping_address", "change_order_items"):
        summary = data.get("summary", "")
        state.flow = None
        state.reset_action()
        return Decision(state, text=say("confirm_action", summary=summary), flags={"confirm": True})
    return Decision(state, text=say("fallback"))


def _change_refused(state: State, data: dict[str, Any], what: str) -> Decision | None:
    """get_order's `can_change[what]` ("address", "items") refused: the flow ends with the
    store's reason; None when the change is still possible."""
    change = (data.get("can_change") or {}).get(what) or {"allowed": True}
    if change["allowed"]:
        return None
    number = state.order_number
    state.flow = None
    state.reset_action()
    text = say(f"{what}_refused", order_number=number, reason=change["reason"])
    return Decision(state, text=text, flags={"policy_refusal": True})


def _edit_step(state: State, tools: set[str]) -> Decision:
    """Item changes: the order's items first (get_order), then the change the customer asked
    for, proposed through change_order_items (the gate asks for the yes)."""
    if not state.items:
        return call(state, tools, "get_order", order_number=state.order_number)
    changes = find_changes(state.question or "", state.items)
    if not changes:
        names = "; ".join(i["item"] for i in state.items)
        return _ask(state, "change", say("ask_change", items=names))
    state.awaiting = None
    return call(
        state, tools, "change_order_items", order_number=state.order_number, changes=changes
    )


def _labelled(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The eligibility items as the customer tells them apart: with their variant when two
    lines are one product ("Jacket (XS / Black)"), which start_return reads the same way."""
    names = [i["item"] for i in items]
    return [
        {**i, "item": f"{i['item']} ({i['variant']})"}
        if names.count(i["item"]) > 1 and i.get("variant")
        else i
        for i in items
    ]


def _named_and_refused(state: State) -> list[dict[str, Any]]:
    """The items the request named ("can I return the gift card?") when none of them can be
    returned; empty when it named none or one of them can be."""
    if state.chosen or not state.asked:
        return []
    labelled = _labelled(state.items)
    named = {n["item"] for n in find_items(state.asked, labelled)}
    items = [i for i in labelled if i["item"] in named]
    return items if items and not any(i["eligible"] for i in items) else []


def _edit_instead(state: State, data: dict[str, Any], tools: set[str]) -> bool:
    """An exchange, or taking an item off ("remove the tights from my order"), asked on an
    order that has not shipped: its items can still be changed."""
    return (
        (state.resolution == "exchange" or bool(state.asked and asks_removal(state.asked)))
        and "change_order_items" in tools
        and data.get("order_status") in ("paid", "pending_payment")
    )


def _asks_variant(error: str) -> bool:
    """A start_return refusal that is a question about the variant (tools/variant_match.py)."""
    return any(
        words in error
        for words in (
            "It comes in:",
            "Which one?",
            "Available:",
            "already on the order",
            "matches several",
        )
    )
