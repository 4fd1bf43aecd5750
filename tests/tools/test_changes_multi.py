"""Several changes in one message ("swap the L tee for XL and remove the trail runner"): one
summary that names every line (variant, quantity, new variant, amounts, where the money goes),
confirmed by one yes, executed exactly as confirmed.

The Hypothesis property writes customer messages from a small grammar of change clauses, reads
them with the engine's `find_changes`, proposes through `change_order_items` and says yes. Then:
whatever the store executed is what the confirmed summary says (the summary rebuilt from the
store's own before/after diff is the one the customer saw), and it is what the message asked,
clause for clause; a request the tools refused wrote nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.confirmation import answer_pending
from agent.local.slots import find_changes
from commerce.edits import EditAction, OrderEdit
from commerce.models import Order, OrderStatus
from storage import repo
from tests.agent.test_local_engine import Chat
from tests.fakes import NOW
from tests.tools.test_changes_matrix import _verified, make_store, order
from tests.tools.test_tools import call
from tools.actions import awaiting_confirmation
from tools.changes import change_order_items, edit_summary

S = OrderStatus

# the lines of the matrix order: a = 2 × Classic Tee (M / Black), b = 1 × Classic Tee
# (L / Black), c = 1 × Trail Runner (42 / Black); how a customer names each
LINES = {
    "a": ["the M tee", "the black tee in M", "Classic Tee (M / Black)"],
    "b": ["the L tee", "the tee in L", "Classic Tee (L / Black)"],
    "c": ["the trail runner", "the trail runners", "my Trail Runner"],
}
# what a swap may ask for, per line; values the product lacks or has out of stock are refused
TARGETS = {"a": ["XL", "blue", "heather grey", "purple"], "b": ["XL", "M"], "c": ["43", "44"]}


def _clause(line: str, kind: str, name: str, value: Any) -> tuple[str, tuple[str, str, Any]]:
    if kind == "remove":
        return f"remove {name}", (line, "remove_item", None)
    if kind == "some":  # "one of": a partial swap where the line has more than one
        mine = name if name.startswith(("the ", "my ")) else f"my {name}"
        return f"swap one of {mine} for {value}", (line, "swap_some", value)
    if kind == "quantity":
        noun = "tees" if line in "ab" else "trail runners"
        return f"make it {value} {noun}", (line, "set_quantity", value)
    return f"swap {name} for {value}", (line, "swap_variant", value)


clause = st.sampled_from(sorted(LINES)).flatmap(
    lambda line: st.tuples(
        st.just(line),
        st.sampled_from(["remove", "quantity", "swap", "some"]),
        st.sampled_from(LINES[line]),
        st.sampled_from(TARGETS[line]) if line else st.nothing(),
        st.integers(1, 4),
    )
)
joiner = st.sampled_from([" and ", ", ", " and also ", ", then "])


def _message(parts: list[Any], joins: list[str]) -> tuple[str, list[tuple[str, str, Any]]]:
    texts, asked = [], []
    for line, kind, name, target, count in parts:
        value = count if kind == "quantity" else target
        text, want = _clause(line, kind, name, value)
        texts.append(text)
        asked.append(want)
    message = texts[0]
    for join, text in zip(joins, texts[1:], strict=False):
        message += join + text
    return message, asked


def _diff(before: Order, after: Order) -> list[OrderEdit]:
    """The edits that turn `before` into `after`, read from the store alone: a line gone was
    removed, a line of another sku was swapped, a new line "<line>+<sku>" holds the units of a
    partial swap (its source line keeps the rest), another quantity was a quantity change."""
    now = {i.id: i for i in after.line_items}
    split = {i.id.split("+")[0]: i for i in after.line_items if "+" in i.id}
    edits = []
    for item in before.line_items:
        seen = {"line_item_id": item.id, "from_sku": item.sku, "from_quantity": item.quantity}
        new = now.get(item.id)
        if item.id in split:
            part = split[item.id]
            assert new is not None and new.quantity + part.quantity == item.quantity
            edits.append(
                OrderEdit(
                    **seen,
                    action=EditAction.SWAP_VARIANT,
                    units=part.quantity,
                    new_sku=part.sku,
                    new_variant_title=part.variant_title,
                    new_unit_price=part.unit_price,
                )
            )
        elif new is None:
            edits.append(OrderEdit(**seen, action=EditAction.REMOVE_ITEM))
        elif new.sku != item.sku:
            edits.append(
                OrderEdit(
                    **seen,
                    action=EditAction.SWAP_VARIANT,
                    new_sku=new.sku,
                    new_variant_title=new.variant_title,
                    new_unit_price=new.unit_price,
                )
            )
        elif new.quantity != item.quantity:
            edits.append(OrderEdit(**seen, action=EditAction.SET_QUANTITY, quantity=new.quantity))
    return edits


WROTE: list[int] = []


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(parts=st.lists(clause, min_size=1, max_size=3), joins=st.lists(joiner, min_size=2))
@example(
    parts=[("b", "swap", "the L tee", "XL", 1), ("c", "remove", "the trail runner", "43", 1)],
    joins=[" and "],
)
@example(
    parts=[("a", "quantity", "the M tee", "XL", 3), ("c", "swap", "the trail runners", "43", 1)],
    joins=[", "],
)
@example(
    parts=[("a", "some", "the M tees", "XL", 1), ("c", "remove", "the trail runner", "43", 1)],
    joins=[" and "],
)
async def test_what_runs_is_the_confirmed_summary_of_what_was_asked(
    make_services: Any, parts: list[Any], joins: list[str]
) -> None:
    original = order("#4001", S.PAID)
    store = make_store(original)
    services = await _services(make_services)
    ctx = await _verified(services)
    ctx.deps = replace(ctx.deps, store=store)
    message, asked = _message(parts, joins)
    items = [{"item": f"{i.name} ({i.variant_title})"} for i in original.line_items]
    changes = find_changes(message, items)
    result = await call(change_order_items, ctx, order_number="#4001", changes=changes)
    if result.status == "error":
        assert store.orders["#4001"] == original and store.edits == []
        return
    summary = json.loads(str(result.content))["summary"]
    assert store.orders["#4001"] == original  # nothing before the yes
    async with services.sessions.begin() as session:
        yes = await repo.append_message(
            session, conversation_id=ctx.conversation_id, role="customer", text="yes"
        )
        pending = await awaiting_confirmation(session, ctx.conversation_id)
    reply = await answer_pending(
        ctx.deps, pending=pending, text="yes", message_id=yes.id, customer_id="c1"
    )
    assert reply is not None and reply.action.status == "executed", reply.action.error
    after = store.orders["#4001"]
    executed = _diff(original, after)
    # the store's own change, written up, is the summary the customer said yes to
    assert summary == reply.action.summary
    assert summary.startswith(edit_summary(original, executed))
    confirmed = [OrderEdit.model_validate(e) for e in reply.action.args["edits"]]
    assert store.edits == [("#4001", confirmed)]
    # and it is what the message asked, clause for clause
    by_line = {e.line_item_id.rsplit("-", 1)[1]: e for e in executed}
    assert sorted(by_line) == sorted(line for line, _, _ in asked)
    for line, action, value in asked:
        edit = by_line[line]
        assert edit.action.value == action.replace("swap_some", "swap_variant")
        if action == "set_quantity":
            assert edit.quantity == value
        if action.startswith("swap"):
            assert str(value).lower() in (edit.new_variant_title or "").lower()
            several = original.line_items[ord(line) - ord("a")].quantity > 1
            assert edit.units == (1 if action == "swap_some" and several else None)
    # money: an extra recorded as due, never taken; a saving refunded
    difference = after.total - original.total
    assert after.amount_due == max(difference, Decimal(0))
    assert after.refunded_amount == max(-difference, Decimal(0))
    WROTE.append(len(executed))


def test_the_property_wrote_several_changes_at_once() -> None:
    """Guards the property above against passing only on single changes or none."""
    assert any(n >= 2 for n in WROTE), WROTE


CACHE: dict[str, Any] = {}


async def _services(make_services: Any) -> Any:
    if CACHE.get("factory") is not make_services:
        CACHE.update(factory=make_services, services=await make_services(clock=lambda: NOW))
    return CACHE["services"]


async def test_two_changes_through_the_engine_with_one_yes(make_services: Any) -> None:
    original = order("#4001", S.PAID)
    store = make_store(original)
    chat = Chat(await make_services(store=store, clock=lambda: NOW))
    await chat.say("I'd like to change some items on order #4001")
    await chat.say("ada@example.com")
    proposal = await chat.say("swap the L tee for XL and remove the trail runner")
    assert [t.name for t in proposal.tool_calls] == ["change_order_items"]
    text = proposal.text
    assert "Swap 1 × Classic Tee (L / Black) for 1 × Classic Tee (XL / Black)" in text
    assert "Remove 1 × Trail Runner (42 / Black) (-$89.00)" in text
    assert "$87.00 is refunded" in text and "(was $149.00)" in text
    assert store.orders["#4001"] == original
    await chat.say("yes")
    after = store.orders["#4001"]
    assert {i.id: (i.sku, i.quantity) for i in after.line_items} == {
        "#4001-a": ("T-M-BLA", 2),
        "#4001-b": ("T-XL-BLA", 1),
    }
    assert (after.total, after.refunded_amount, after.amount_due) == (
        Decimal("62.00"),
        Decimal("87.00"),
        Decimal("0"),
    )
    async with chat.services.sessions() as session:
        conversation = await repo.get_conversation(session, chat.conversation_id or "")
    assert conversation is not None and conversation.verified_customer_id == "c1"
