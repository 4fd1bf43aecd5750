"""The scenario checks on their own: each one passes on what it should accept and fails, with a
readable reason, on what it should not. Order picking and placeholder filling too."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from commerce.policy import load_policy
from evals.scenarios.checks import (
    OrderState,
    Outcome,
    ReturnState,
    Step,
    StoreState,
    ToolUse,
    check_invariants,
    check_outcome,
    check_replies,
)
from evals.scenarios.model import Checks, ReplyChecks, Scenario, StoreExpect
from evals.scenarios.orders import NoMatchingOrder, OrderFacts, fill, pick_orders
from tests.fakes import tiny_store_data

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def pool() -> list[OrderFacts]:
    customers, orders = tiny_store_data()
    names = {c.id: (c.first_name, c.last_name) for c in customers}
    policy = load_policy()
    return [
        OrderFacts.of(
            o,
            now=NOW,
            policy=policy,
            first_name=names[o.customer_id][0],
            last_name=names[o.customer_id][1],
        )
        for o in orders
    ]


@pytest.fixture
def values(pool: list[OrderFacts]) -> dict[str, Any]:
    return {"order": pool[0], "other": pool[-1]}


def step(*replies: str, tools: list[ToolUse] | None = None, **kw: Any) -> Step:
    return Step("customer", "hi", replies=list(replies), tools=tools or [], **kw)


def replies(checks: dict[str, Any], steps: list[Step], values: dict[str, Any]) -> list[str]:
    return check_replies(ReplyChecks.model_validate(checks), steps, values)


def test_says_passes_and_fails_with_the_reply_quoted(values: dict[str, Any]) -> None:
    number = values["order"].number
    ok = replies(
        {"says": ["Order {order.number}", "shipped"]},
        [step(f"Order {number} has shipped")],
        values,
    )
    assert ok == []
    failed = replies({"says": ["delivered"]}, [step(f"Order {number} has shipped")], values)
    assert len(failed) == 1 and "delivered" in failed[0] and "has shipped" in failed[0]


def test_any_of_needs_one_match(values: dict[str, Any]) -> None:
    checks = {"says": [{"any": ["refund", "store credit"]}]}
    assert replies(checks, [step("You get store credit.")], values) == []
    assert replies(checks, [step("Nothing to see.")], values) != []


def test_placeholder_values_are_matched_literally(values: dict[str, Any]) -> None:
    """An item name with brackets or a '#' order number must not act as regex syntax."""
    facts = values["order"]
    tricky = {"order": facts, "item": type("Item", (), {"name": "Sock (3-pack) [L]+"})()}
    assert replies({"says": ["{item.name}"]}, [step("Sock (3-pack) [L]+ is yours")], tricky) == []
    assert replies({"says": ["{item.name}"]}, [step("Sock 3-pack L is yours")], tricky) != []
    assert fill("{order.number} {order.email!u}", values) == (
        f"{facts.number} {facts.email.upper()}"
    )
    assert fill(r"\d{3} {nobody.x}", values) == r"\d{3} {nobody.x}"  # left alone


def test_never_says_catches_a_leak(values: dict[str, Any]) -> None:
    email = values["other"].email
    failed = replies({"never_says": ["{other.email}"]}, [step(f"It belongs to {email}.")], values)
    assert failed and email in failed[0]
    assert replies({"never_says": ["{other.email}"]}, [step("I can't share that.")], values) == []


def test_tools_by_name_outcome_and_args(values: dict[str, Any]) -> None:
    number = values["order"].number
    used = [ToolUse("verify_customer", {"order_number": number}, ok=False)]
    assert replies({"tools": ["verify_customer"]}, [step("x", tools=used)], values) == []
    assert replies(
        {"tools": [{"name": "verify_customer", "ok": True}]}, [step("x", tools=used)], values
    )
    wrong_order = {
        "tools": [{"name": "verify_customer", "args": {"order_number": "{other.number}"}}]
    }
    assert replies(wrong_order, [step("x", tools=used)], values)
    assert replies({"no_tools": ["verify_customer"]}, [step("x", tools=used)], values)
    assert replies({"no_tools": ["cancel_order"]}, [step("x", tools=used)], values) == []


def test_escalation_and_owner_per_turn(values: dict[str, Any]) -> None:
    handed = step("Passed to the team.", escalations=["customer_request"], owner="queued")
    assert replies({"escalation": "customer_request", "owner": "queued"}, [handed], values) == []
    assert replies({"escalation": "none"}, [handed], values)
    assert replies({"escalation": "complaint"}, [handed], values)
    assert replies({"escalation": "any"}, [step("ok", owner="bot")], values)
    assert replies({"owner": "bot"}, [handed], values)


def test_citations(values: dict[str, Any]) -> None:
    cited = step("30 days", citations=[{"id": "returns.md#1", "title": "Returns Policy"}])
    assert replies({"cites": ["returns"]}, [cited], values) == []
    assert replies({"cites": ["shipping"]}, [cited], values)


def test_invariants_catch_the_fallback_and_raw_placeholders() -> None:
    crash = step("I'm sorry, something went wrong on my side. Please try again.")
    raw = step("Thanks! What's the email on order {order_number}?")
    assert check_invariants([step("All good.")]) == []
    assert check_invariants([crash]) and check_invariants([raw])
    assert check_invariants([Step("staff", "approve", error="nothing awaits approval")])


def _state(orders: dict[str, OrderState], returns: dict[str, ReturnState]) -> StoreState:
    return StoreState(orders, returns)


def test_store_unchanged_is_the_default_and_catches_any_change(values: dict[str, Any]) -> None:
    number = values["order"].number
    before = _state({number: OrderState(number, "paid", "1 A St", "Portland", "97201")}, {})
    cancelled = _state({number: OrderState(number, "cancelled", "1 A St", "Portland", "97201")}, {})
    moved = _state({number: OrderState(number, "paid", "9 B Rd", "Denver", "80203")}, {})
    new_return = _state(before.orders, {"RMA-1": ReturnState("RMA-1", number, ("Boot",), "refund")})
    checks = Checks()
    assert check_outcome(checks, Outcome("bot", [], [], before, before), values) == []
    for after in (cancelled, moved, new_return):
        assert check_outcome(checks, Outcome("bot", [], [], before, after), values)
    assert check_outcome(Checks(store="any"), Outcome("bot", [], [], before, moved), values) == []


def test_store_expectations_must_all_happen_and_nothing_else(values: dict[str, Any]) -> None:
    number = values["order"].number
    before = _state({number: OrderState(number, "delivered", "1 A St", "Portland", "97201")}, {})
    boot = ReturnState("RMA-1", number, ("Boot",), "refund")
    after = _state(before.orders, {"RMA-1": boot})
    want_boot = StoreExpect.model_validate(
        {"returns": [{"order": "order", "items": ["Boot"], "resolution": "refund"}]}
    )
    want_credit = StoreExpect.model_validate(
        {"returns": [{"order": "order", "resolution": "store_credit"}]}
    )
    outcome = Outcome("bot", [], [], before, after)
    assert check_outcome(Checks(store=want_boot), outcome, values) == []
    failures = check_outcome(Checks(store=want_credit), outcome, values)
    assert any("should open a return" in f for f in failures)
    assert any("unexpected return" in f for f in failures)
    nothing = Outcome("bot", [], [], before, before)
    assert check_outcome(Checks(store=want_boot), nothing, values)
    cancel = StoreExpect(cancelled=["order"])
    assert check_outcome(Checks(store=cancel), nothing, values)


def test_address_expectation_compares_the_new_address(values: dict[str, Any]) -> None:
    number = values["order"].number
    before = _state({number: OrderState(number, "paid", "1 A St", "Portland", "97201")}, {})
    after = _state({number: OrderState(number, "paid", "55 Birch Lane", "Denver", "80203")}, {})
    right = StoreExpect.model_validate({"address": [{"city": "Denver", "postal_code": "80203"}]})
    wrong = StoreExpect.model_validate({"address": [{"city": "Seattle"}]})
    outcome = Outcome("bot", [], [], before, after)
    assert check_outcome(Checks(store=right), outcome, values) == []
    assert check_outcome(Checks(store=wrong), outcome, values)


def test_actions_and_final_escalation(values: dict[str, Any]) -> None:
    state = _state({}, {})
    outcome = Outcome(
        "queued", ["approval_required"], [("return", "awaiting_approval")], state, state
    )
    good = Checks.model_validate(
        {
            "escalation": "approval_required",
            "actions": [{"kind": "return", "status": "awaiting_approval"}],
        }
    )
    bad = Checks.model_validate(
        {"actions": [{"kind": "return", "status": "executed"}], "owner": "bot"}
    )
    assert check_outcome(good, outcome, values) == []
    assert len(check_outcome(bad, outcome, values)) == 2


def _scenario(orders: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(
        {"name": "pick", "orders": orders, "turns": [{"customer": "hi"}]}
    )


def test_pick_orders_respects_criteria_and_relations(pool: list[OrderFacts]) -> None:
    scenario = _scenario(
        {
            "order": {"status": "delivered"},
            "mine": {"same_customer_as": "order"},
            "theirs": {"other_customer_than": "order"},
        }
    )
    chosen = pick_orders(scenario, pool, 0)
    assert chosen["order"].status == "delivered"
    assert chosen["mine"].customer_id == chosen["order"].customer_id
    assert chosen["theirs"].customer_id != chosen["order"].customer_id
    assert len({c.number for c in chosen.values()}) == 3
    assert pick_orders(scenario, pool, 0) == chosen  # stable


def test_pick_orders_avoids_earlier_runs_and_reports_no_match(pool: list[OrderFacts]) -> None:
    delivered = [f.number for f in pool if f.status == "delivered"]
    scenario = _scenario({"order": {"status": "delivered"}})
    first = pick_orders(scenario, pool, 0)["order"].number
    if len(delivered) > 1:
        assert pick_orders(scenario, pool, 1, avoid={first})["order"].number != first
    with pytest.raises(NoMatchingOrder):
        pick_orders(_scenario({"order": {"status": "delivered", "items": 99}}), pool, 0)


def test_pick_orders_skips_frequent_returners_unless_asked(pool: list[OrderFacts]) -> None:
    # a customer whose next return staff review for frequency: picked only when asked for, so a
    # scenario expecting a return to go ahead never depends on how old the demo's returns are
    flagged = {pool[0].customer_id}
    assert any(f.customer_id not in flagged for f in pool)
    marked = [replace(f, frequent_returner=f.customer_id in flagged) for f in pool]
    for run in range(4):
        usual = pick_orders(_scenario({"order": {}}), marked, run)["order"]
        assert usual.customer_id not in flagged
        frequent = pick_orders(_scenario({"order": {"frequent_returner": True}}), marked, run)
        assert frequent["order"].customer_id in flagged
