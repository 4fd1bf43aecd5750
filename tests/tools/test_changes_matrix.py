"""The policy matrix for changes to an order before it ships (swap a variant, change a
quantity, remove an item, several at once): each case proposes as the verified customer, answers
yes, and checks the decision, the summary, and that the store executed exactly the edits the
summary was written from. The account's saved address: test_changes_address.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from sqlalchemy import select

from commerce.edits import OrderEdit, lines_after
from commerce.models import OrderStatus
from storage.tables import PendingAction
from tests.fakes import NOW

# test_changes_property, test_changes_multi and commerce/test_policy_edits import LB, MB, TR,
# make_store, order and _verified from here: changes_helpers defines them
from tests.tools.changes_helpers import (  # noqa: F401 (names re-exported)
    LB,
    MB,
    TR,
    S,
    _verified,
    _yes,
    make_store,
    order,
    qty,
    rm,
    sw,
)
from tests.tools.test_tools import call
from tools.changes import change_order_items, edit_summary


@dataclass
class Case:
    name: str
    changes: list[dict[str, Any]]
    status: OrderStatus = S.PAID
    expect: str = "executed"  # refused | approval | executed
    refused_with: str = ""
    says: list[str] = field(default_factory=list)  # in the summary
    skus: dict[str, tuple[str, int]] | None = None  # line suffix -> (sku, quantity) after
    customer: str = "c1"
    collect: str = "payment_link"  # the policy's edits.extra_charge
    due: str = "0.00"  # the order's amount due after the yes (a pending charge)
    refunded: str = "0.00"  # and what it refunded


CASES = [
    Case(
        "size keeps the colour",
        [sw(LB, "XL")],
        says=[
            "for 1 × Classic Tee (XL / Black) at $22.00",
            "New order total: $151.00 (was $149.00)",
            "costs $2.00 more",
            "recorded as due",
        ],
        due="2.00",
        skus={"b": ("T-XL-BLA", 1)},
    ),
    Case(
        "colour keeps the size",
        [sw(MB, "the blue one")],
        skus={"a": ("T-M-BLU", 2)},
        says=["The order total stays the same."],
    ),
    Case("fuzzy option value", [sw(MB, "heather gray")], skus={"a": ("T-M-HEA", 2)}),
    Case("size and colour together", [sw(LB, "M in blue")], skus={"b": ("T-M-BLU", 1)}),
    Case(
        "wanted one unavailable", [sw(MB, "XL blue")], expect="refused", refused_with="out of stock"
    ),
    Case("several fit: ask", [sw(LB, "blue")], expect="refused", refused_with="Which one?"),
    Case("no such option", [sw(MB, "purple")], expect="refused", refused_with="names none"),
    Case("same variant", [sw(MB, "M black")], expect="refused", refused_with="already on"),
    Case("swap without a variant", [sw(MB, " ")], expect="refused", refused_with="Ask which"),
    Case("titles only product", [sw(TR, "43")], skus={"c": ("TR-43-BLK", 1)}),
    Case("titles only out of stock", [sw(TR, "44")], expect="refused", refused_with="out of stock"),
    Case(
        "two lines need the variant",
        [rm("Classic Tee")],
        expect="refused",
        refused_with="matches several",
    ),
    Case(
        "two lines told apart",
        [rm(LB)],
        skus={"a": ("T-M-BLA", 2)},
        says=["Remove 1 × Classic Tee (L / Black) (-$20.00)", "$20.00 is refunded"],
        refunded="20.00",
    ),
    Case(
        "told apart by one value",
        [rm("the tee in L")],
        skus={"a": ("T-M-BLA", 2)},
        refunded="20.00",
    ),
    Case(
        "quantity up",
        [qty(MB, 3)],
        skus={"a": ("T-M-BLA", 3)},
        says=["(+$20.00)", "costs $20.00 more", "payment link"],
        due="20.00",
    ),
    Case(
        "quantity down",
        [qty(MB, 1)],
        skus={"a": ("T-M-BLA", 1)},
        says=["(-$20.00)", "$20.00 is refunded"],
        refunded="20.00",
    ),
    Case("quantity zero", [qty(MB, 0)], expect="refused", refused_with="new quantity"),
    Case("quantity unchanged", [qty(MB, 2)], expect="refused", refused_with="already has"),
    Case("quantity beyond stock", [qty(MB, 9)], expect="refused", refused_with="in stock"),
    Case(
        "remove everything",
        [rm(MB), rm(LB), rm(TR)],
        expect="refused",
        refused_with="cancel the order",
    ),
    Case(
        "several in one request",
        [sw(LB, "XL"), rm(TR), qty(MB, 1)],
        skus={"a": ("T-M-BLA", 1), "b": ("T-XL-BLA", 1)},
        says=["(+$2.00)", "(-$89.00)", "(-$20.00)", "$107.00 is refunded"],
        refunded="107.00",
    ),
    Case("same line twice", [qty(MB, 1), rm(MB)], expect="refused", refused_with="named twice"),
    Case("no changes", [], expect="refused", refused_with="which item"),
    Case(
        "pending payment",
        [rm(TR)],
        status=S.PENDING_PAYMENT,
        skus={"a": ("T-M-BLA", 2)},
        says=["Nothing has been charged yet"],
    ),
    Case("shipped", [rm(TR)], status=S.SHIPPED, expect="refused", refused_with="already shipped"),
    Case("delivered", [qty(MB, 1)], status=S.DELIVERED, expect="refused", refused_with="too late"),
    Case("cancelled", [rm(TR)], status=S.CANCELLED, expect="refused", refused_with="cancelled"),
    Case("partially shipped", [rm(TR)], status=S.PARTIALLY_SHIPPED, expect="refused"),
    Case(
        "someone else's order", [rm(TR)], customer="c2", expect="refused", refused_with="No order"
    ),
    Case(
        "difference over the review line",
        [qty(TR, 4)],
        expect="approval",
        says=["reviewed by our team"],
    ),
    Case("difference at the review line", [qty(MB, 12)], expect="refused"),  # stock 5
    Case("item not on the order", [rm("Kayak")], expect="refused", refused_with="is not on"),
    # an extra charge is never taken silently: the policy says how it is collected
    Case(
        "dearer, collected by staff",
        [sw(LB, "XL")],
        collect="staff",
        expect="approval",
        says=["costs $2.00 more", "our team contacts you", "arranged with you by our team"],
    ),
    Case(
        "cheaper, staff rule changes nothing",
        [rm(TR)],
        collect="staff",
        says=["$89.00 is refunded"],
        refunded="89.00",
    ),
    Case(
        "dearer and cheaper at once",
        [sw(LB, "XL"), qty(MB, 1)],
        says=["(+$2.00)", "(-$20.00)", "$18.00 is refunded"],
        refunded="18.00",
    ),
    Case(
        "dearer before payment",
        [qty(MB, 3)],
        status=S.PENDING_PAYMENT,
        says=["Nothing has been charged yet; the order total becomes $169.00"],
    ),
    # a partial swap: some of a line's units become another variant, the rest stay
    Case(
        "partial swap",
        [{**sw(MB, "XL"), "quantity": 1}],
        skus={"a": ("T-M-BLA", 1), "a+T-XL-BLA": ("T-XL-BLA", 1)},
        says=[
            "Swap 1 of 2 × Classic Tee (M / Black) for 1 × Classic Tee (XL / Black) at $22.00 "
            "each (+$2.00)",
            "costs $2.00 more",
        ],
        due="2.00",
    ),
    Case(
        "partial swap of more than the line",
        [{**sw(MB, "XL"), "quantity": 3}],
        expect="refused",
        refused_with="how many of them to swap",
    ),
    Case(
        "partial swap and a removal",
        [{**sw(MB, "blue"), "quantity": 1}, rm(TR)],
        skus={"a": ("T-M-BLA", 1), "a+T-M-BLU": ("T-M-BLU", 1)},
        says=["Swap 1 of 2", "Remove 1 × Trail Runner (42 / Black) (-$89.00)"],
        refunded="89.00",
    ),
    Case(
        "dearer before payment, staff rule",
        [qty(MB, 3)],
        status=S.PENDING_PAYMENT,
        collect="staff",
        says=["Nothing has been charged yet"],
    ),
]


def test_matrix_is_large_enough() -> None:
    assert len(CASES) >= 30 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_change_matrix(case: Case, make_services: Any) -> None:
    original = order("#4001", case.status, customer=case.customer)
    store = make_store(original)
    services = await make_services(store=store, clock=lambda: NOW)
    ctx = await _verified(services)
    policy = ctx.deps.policy
    edits = policy.edits.model_copy(update={"extra_charge": case.collect})
    ctx.deps = replace(ctx.deps, policy=policy.model_copy(update={"edits": edits}))
    result = await call(change_order_items, ctx, order_number="#4001", changes=case.changes)
    async with services.sessions() as session:
        actions = (await session.scalars(select(PendingAction))).all()
    if case.expect == "refused":
        assert result.status == "error", result.content
        assert case.refused_with in str(result.content)
        assert actions == [] and store.orders["#4001"] == original and store.edits == []
        return
    assert result.status != "error", result.content
    proposal = json.loads(str(result.content))
    assert proposal["needs_approval"] is (case.expect == "approval")
    for words in case.says:
        assert words in proposal["summary"], proposal["summary"]
    assert store.orders["#4001"] == original  # nothing before the yes
    reply = await _yes(services, ctx)
    assert reply is not None
    if case.expect == "approval":
        assert reply.action.status == "awaiting_approval" and store.edits == []
        return
    assert reply.action.status == "executed", reply.action.error
    # what ran is exactly what the summary was written from, and nothing else
    confirmed = [OrderEdit.model_validate(e) for e in reply.action.args["edits"]]
    assert store.edits == [("#4001", confirmed)]
    assert reply.action.summary.startswith(edit_summary(original, confirmed, case.collect))
    after = store.orders["#4001"]
    # the money as the summary said: an extra recorded as due, never taken; a saving refunded
    assert (f"{after.amount_due:.2f}", f"{after.refunded_amount:.2f}") == (case.due, case.refunded)
    expected = lines_after(original, confirmed)
    assert {i.id: (i.sku, i.quantity, i.unit_price) for i in after.line_items} == expected
    assert f"{after.total:.2f}" == reply.action.args["expected_total"]
    for suffix, (sku, quantity) in (case.skus or {}).items():
        item = next(i for i in after.line_items if i.id == f"#4001-{suffix}")
        assert (item.sku, item.quantity) == (sku, quantity)
    assert "Done. Order #4001 now has" in reply.text


async def test_a_line_changed_after_the_yes_was_asked_is_not_guessed(make_services: Any) -> None:
    original = order("#4001", S.PAID)
    store = make_store(original)
    services = await make_services(store=store, clock=lambda: NOW)
    ctx = await _verified(services)
    await call(change_order_items, ctx, order_number="#4001", changes=[sw(LB, "XL")])
    # the order changes under the pending action (staff edit in the store's admin)
    b = original.line_items[1].model_copy(update={"quantity": 3})
    store.orders["#4001"] = original.model_copy(
        update={"line_items": [original.line_items[0], b, original.line_items[2]]}
    )
    reply = await _yes(services, ctx)
    assert reply is not None and reply.action.status == "failed"
    assert "changed since" in (reply.action.error or "") and store.edits == []
