"""Property: whatever the model asks and the customer answers, no order edit or saved-address
change exists outside policy, for another customer, without a recorded yes (plus staff approval
when the rules ask), or different from the summary the customer confirmed."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from agent.confirmation import answer_pending
from commerce.edits import OrderEdit, lines_after, price_edits
from commerce.models import OrderStatus
from commerce.policy import check_edit
from storage import repo
from storage.tables import PendingAction
from tests.fakes import NOW
from tests.tools.test_changes_matrix import LB, MB, TR, make_store, order
from tests.tools.test_tools import call
from tools import actions
from tools.changes import change_default_address, change_order_items, edit_summary
from tools.context import SupportContext
from tools.identity import verify_customer

S = OrderStatus
ORDERS = [
    ("#4001", S.PAID, "c1"),
    ("#4002", S.PENDING_PAYMENT, "c1"),
    ("#4003", S.SHIPPED, "c1"),
    ("#4004", S.DELIVERED, "c1"),
    ("#4005", S.PAID, "c2"),
    ("#4006", S.CANCELLED, "c1"),
]
# weighted towards the orders and items that can change, so real writes happen often
numbers = st.sampled_from(["#4001"] * 4 + ["#4002"] * 2 + [o[0] for o in ORDERS] + ["#9999"])
item = st.sampled_from([MB, LB, TR] * 2 + ["Classic Tee", "the tee in L", "Kayak", ""])
change = st.one_of(
    st.fixed_dictionaries(
        {
            "item": item,
            "change": st.just("swap_variant"),
            "new_variant": st.sampled_from(["XL", "blue", "XL blue", "M black", "43", "purple"]),
            # some of the line's units only (a partial swap), or all of them
            "quantity": st.one_of(st.none(), st.integers(0, 3)),
        }
    ),
    st.fixed_dictionaries(
        {"item": item, "change": st.just("set_quantity"), "quantity": st.integers(-1, 12)}
    ),
    st.fixed_dictionaries({"item": item, "change": st.just("remove_item")}),
)
verify = st.tuples(
    st.just("verify"),
    st.sampled_from(
        [
            ("#4001", "ada@example.com", None),
            ("#4001", "ada@example.com", None),
            (None, "ada@example.com", "97201"),
            ("#4005", "bob@example.com", None),
            (None, "bob@example.com", "10001"),
            ("#4001", "bob@example.com", None),
        ]
    ),
)
answer = st.tuples(
    st.just("say"),
    st.sampled_from(
        [
            "yes",
            "Yes, please go ahead.",
            "sounds good, do it",
            "no",
            "yes but change the size",
            "yes?",
            "what?",
        ]
    ),
)
action = st.one_of(
    st.tuples(st.just("edit"), st.tuples(numbers, st.lists(change, max_size=3))),
    st.tuples(st.just("edit"), st.tuples(numbers, st.lists(change, min_size=1, max_size=1))),
    st.tuples(st.just("address"), st.sampled_from(["US", "X", "GB"])),
    st.tuples(st.just("staff"), st.sampled_from(["approve", "reject"])),
    verify,
)
scenario = st.builds(
    lambda first, pairs: [first, *[s for pair in pairs for s in pair]],
    verify,
    st.lists(st.tuples(action, answer), min_size=1, max_size=6),
) | st.lists(st.one_of(action, answer), min_size=1, max_size=8)

VERIFY_ADA = ("verify", ("#4001", "ada@example.com", None))
QUANTITY_3 = {"item": MB, "change": "set_quantity", "quantity": 3}
ONE_TO_XL = {"item": MB, "change": "swap_variant", "new_variant": "XL", "quantity": 1}
CACHE: dict[str, Any] = {}
EXERCISED: list[str] = []


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=scenario, collect=st.sampled_from(["payment_link", "staff"]))
# two runs that must write, so the property never holds only because nothing was written
@example(
    steps=[VERIFY_ADA, ("edit", ("#4001", [QUANTITY_3])), ("say", "yes")], collect="payment_link"
)
@example(
    steps=[VERIFY_ADA, ("address", "US"), ("say", "Yes, please go ahead.")], collect="payment_link"
)
@example(
    steps=[VERIFY_ADA, ("edit", ("#4001", [ONE_TO_XL])), ("say", "yes")], collect="payment_link"
)
@example(
    steps=[VERIFY_ADA, ("edit", ("#4001", [ONE_TO_XL])), ("say", "yes"), ("staff", "approve")],
    collect="staff",
)
async def test_no_change_outside_policy_or_the_summary(
    make_services: Any, settings: Any, steps: list[Any], collect: str
) -> None:
    store = make_store(*[order(n, s, customer=c) for n, s, c in ORDERS])
    original = dict(store.orders)
    if "services" not in CACHE or CACHE["factory"] is not make_services:
        unthrottled = settings.model_copy(
            update={"verify_failure_limit": 1_000_000, "max_verify_attempts": 1_000_000}
        )
        CACHE.update(
            factory=make_services,
            services=await make_services(clock=lambda: NOW, settings=unthrottled),
        )
    services = CACHE["services"]
    # the store's rule for an extra charge: recorded as due (payment link) or staff first
    edits_rule = services.deps.policy.edits.model_copy(update={"extra_charge": collect})
    policy = services.deps.policy.model_copy(update={"edits": edits_rule})
    deps = replace(services.deps, store=store, policy=policy)
    async with services.sessions.begin() as session:
        conversation = await repo.create_conversation(session, channel="test")
    ctx = SupportContext(
        conversation_id=conversation.id, channel="test", deps=deps, owner_version=0
    )
    for kind, arg in steps:
        if kind == "verify":
            number, email, postal = arg
            args = {"order_number": number, "email": email, "postal_code": postal}
            await call(verify_customer, ctx, **{k: v for k, v in args.items() if v})
        elif kind == "edit":
            await call(change_order_items, ctx, order_number=arg[0], changes=arg[1])
        elif kind == "address":
            await call(
                change_default_address,
                ctx,
                line1="1 A St",
                city="B",
                postal_code="12345",
                country=arg,
            )
        elif kind == "say":
            async with services.sessions.begin() as session:
                msg = await repo.append_message(
                    session, conversation_id=ctx.conversation_id, role="customer", text=arg
                )
                pending = await actions.awaiting_confirmation(session, ctx.conversation_id)
            await answer_pending(
                deps, pending=pending, text=arg, message_id=msg.id, customer_id=ctx.customer_id
            )
        else:
            async with services.sessions() as session:
                waiting = (
                    await session.scalars(
                        select(PendingAction).where(
                            PendingAction.status == "awaiting_approval",
                            PendingAction.conversation_id == ctx.conversation_id,
                        )
                    )
                ).all()
            for pending_action in waiting:
                if arg == "approve":
                    await actions.approve(deps, pending_action.id, staff_id="s")
                else:
                    await actions.decline(
                        deps, pending_action.id, by="staff:s", status=actions.ActionStatus.REJECTED
                    )

    async with services.sessions() as session:
        executed = {
            a.idempotency_key: a
            for a in (
                await session.scalars(
                    select(PendingAction).where(
                        PendingAction.status == "executed",
                        PendingAction.conversation_id == ctx.conversation_id,
                    )
                )
            ).all()
        }
    for key, value in store.applied.items():
        done = executed.get(key)
        assert done is not None, f"a store write without an executed action: {value!r}"
        assert done.confirmed_by_message, "executed without the customer's yes"
        assert done.customer_id == ctx.customer_id
        if done.needs_approval:
            assert (done.decided_by or "").startswith("staff:")
        if done.kind == "default_address":
            assert store.customers[done.customer_id] == value
            EXERCISED.append("default_address")
            continue
        assert done.kind == "order_edit"
        EXERCISED.append("order_edit")
    for before, edits, after in store.history:
        done = next(
            a
            for a in executed.values()
            if a.kind == "order_edit"
            and [OrderEdit.model_validate(e) for e in a.args["edits"]] == edits
            and a.order_number == before.number
        )
        assert original[before.number].customer_id == done.customer_id  # their own order
        price = price_edits(before, edits)
        decision = check_edit(deps.policy, before, edits, price, NOW)
        assert decision.allowed
        assert decision.needs_approval is done.needs_approval
        # what ran is the summary the customer said yes to, and the store holds exactly it
        assert done.summary.startswith(edit_summary(before, edits, collect))
        assert {i.id: (i.sku, i.quantity, i.unit_price) for i in after.line_items} == lines_after(
            before, edits
        )
        assert f"{after.total:.2f}" == done.args["expected_total"]
        EXERCISED.extend("partial_swap" for e in edits if e.units is not None)
        EXERCISED.extend(["amount_due"] if after.amount_due > before.amount_due else [])
        # an extra is never taken: it is recorded as due; a saving is refunded
        if before.status is OrderStatus.PAID:
            assert after.amount_due - before.amount_due == max(price.difference, Decimal(0))
            assert after.refunded_amount - before.refunded_amount == max(
                -price.difference, Decimal(0)
            )
        if collect == "staff" and price.difference > 0 and before.status is OrderStatus.PAID:
            assert done.needs_approval and (done.decided_by or "").startswith("staff:")
    for number, before in original.items():
        if number not in {b.number for b, _, _ in store.history}:
            assert store.orders[number] == before  # no write, no change


def test_the_property_run_exercised_real_writes() -> None:
    """Guards the property above against passing vacuously."""
    assert "order_edit" in EXERCISED and "default_address" in EXERCISED, EXERCISED
    assert "partial_swap" in EXERCISED and "amount_due" in EXERCISED, sorted(set(EXERCISED))
