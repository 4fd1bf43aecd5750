"""Scoring one run of a scenario: what the customer saw, what the tools did, and what changed in
the store. Every check returns the failures it found as short sentences (empty: passed)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from commerce.models import normalize_postal_code
from evals.scenarios.model import AnyOf, Checks, ReplyChecks, StoreExpect, ToolExpect
from evals.scenarios.orders import fill

# What no reply may ever contain, in any scenario: the runner's fallback after a crash, a
# template that was not filled in, a Python error.
INVARIANTS = [
    r"something went wrong on my side",
    r"\{[a-z_]+\}",
    r"Traceback \(most recent call last\)",
]


@dataclass(frozen=True)
class ToolUse:
    name: str
    args: dict[str, Any]
    ok: bool


@dataclass
class Step:
    """One customer message or staff action, and everything the customer was shown after it."""

    kind: str  # "customer" | "staff"
    sent: str
    replies: list[str] = field(default_factory=list)
    tools: list[ToolUse] = field(default_factory=list)
    citations: list[dict[str, str]] = field(default_factory=list)
    escalations: list[str] = field(default_factory=list)  # reasons
    owner: str = ""
    error: str | None = None


@dataclass(frozen=True)
class ReturnState:
    rma: str
    order_number: str
    items: tuple[str, ...]  # product names, sorted
    resolution: str
    exchange_skus: tuple[str, ...] = ()  # the replacements of an exchange, sorted


@dataclass(frozen=True)
class OrderState:
    number: str
    status: str
    line1: str
    city: str
    postal_code: str
    items: tuple[str, ...] = ()  # "2 × Name (Variant)", sorted


@dataclass(frozen=True)
class StoreState:
    orders: dict[str, OrderState]  # by order number
    returns: dict[str, ReturnState]  # by RMA


@dataclass
class Outcome:
    """The conversation's end state, read from the database and the store after the last turn."""

    owner: str
    escalations: list[str]  # reasons
    actions: list[tuple[str, str]]  # (kind, status)
    before: StoreState
    after: StoreState


def _pattern(text: str, values: dict[str, Any]) -> re.Pattern[str]:
    return re.compile(fill(text, values, regex=True), re.IGNORECASE)


def _show(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def check_replies(
    checks: ReplyChecks, steps: list[Step], values: dict[str, Any], *, final: bool = False
) -> list[str]:
    texts = [t for s in steps for t in s.replies]
    seen = "\n\n".join(texts)
    failures: list[str] = []
    for wanted in checks.says:
        options = wanted.any if isinstance(wanted, AnyOf) else [wanted]
        if not any(_pattern(o, values).search(seen) for o in options):
            label = " | ".join(options)
            failures.append(f"should say /{label}/; said: {_show(seen) or '(nothing)'}")
    for unwanted in checks.never_says:
        found = _pattern(unwanted, values).search(seen)
        if found:
            failures.append(f"should not say /{unwanted}/; said {found.group(0)!r}")
    uses = [u for s in steps for u in s.tools]
    for expected in checks.tools:
        spec = expected if isinstance(expected, ToolExpect) else ToolExpect(name=expected)
        if not any(_tool_matches(u, spec, values) for u in uses):
            called = ", ".join(f"{u.name}({'ok' if u.ok else 'refused'})" for u in uses)
            failures.append(f"should call {_describe(spec)}; called: {called or 'nothing'}")
    for name in checks.no_tools:
        if any(u.name == name for u in uses):
            failures.append(f"should not call {name}")
    citations = [c for s in steps for c in s.citations]
    for wanted_cite in checks.cites:
        pattern = _pattern(wanted_cite, values)
        if not any(
            pattern.search(c.get("id", "")) or pattern.search(c.get("title", "")) for c in citations
        ):
            cited = ", ".join(c.get("id", "") for c in citations) or "nothing"
            failures.append(f"should cite /{wanted_cite}/; cited: {cited}")
    if not final:
        reasons = [r for s in steps for r in s.escalations]
        failures += check_escalation(checks.escalation, reasons)
        if checks.owner and steps and steps[-1].owner != checks.owner:
            failures.append(f"owner should be {checks.owner}, is {steps[-1].owner}")
    return failures


def check_invariants(steps: list[Step]) -> list[str]:
    failures = []
    for number, step in enumerate(steps, start=1):
        if step.error:
            failures.append(f"step {number} failed to run: {step.error}")
        for text in step.replies:
            for rule in INVARIANTS:
                found = re.search(rule, text, re.IGNORECASE)
                if found:
                    failures.append(f"step {number}: a reply contains {found.group(0)!r}")
    return failures


def check_escalation(expected: str | None, reasons: list[str]) -> list[str]:
    if expected is None:
        return []
    if expected == "none":
        return [f"should not escalate; escalated ({', '.join(reasons)})"] if reasons else []
    if expected == "any":
        return [] if reasons else ["should escalate; did not"]
    if expected not in reasons:
        return [f"should escalate with reason {expected}; got {reasons or 'no escalation'}"]
    return []


def check_outcome(checks: Checks, outcome: Outcome, values: dict[str, Any]) -> list[str]:
    failures = check_escalation(checks.escalation, outcome.escalations)
    if checks.owner and outcome.owner != checks.owner:
        failures.append(f"owner should be {checks.owner}, is {outcome.owner}")
    for action in checks.actions:
        if (action.kind, action.status) not in outcome.actions:
            failures.append(
                f"should leave a {action.kind} action {action.status}; actions: "
                f"{outcome.actions or 'none'}"
            )
    if checks.store != "any":
        expected = checks.store if isinstance(checks.store, StoreExpect) else StoreExpect()
        failures += check_store(expected, outcome.before, outcome.after, values)
    return failures


def check_store(
    expected: StoreExpect, before: StoreState, after: StoreState, values: dict[str, Any]
) -> list[str]:
    """Exactly the expected changes: every expected change happened, and nothing else did."""
    failures: list[str] = []
    new_returns = [r for rma, r in after.returns.items() if rma not in before.returns]
    unclaimed = list(new_returns)
    for want in expected.returns:
        number = values[want.order].number
        names = tuple(sorted(fill(i, values) for i in want.items))
        match = next(
            (
                r
                for r in unclaimed
                if r.order_number == number
                and (not names or r.items == names)
                and (want.resolution is None or r.resolution == want.resolution)
                and (
                    not want.exchange_to
                    or r.exchange_skus == tuple(sorted(fill(x, values) for x in want.exchange_to))
                )
            ),
            None,
        )
        if match is None:
            got = [f"{r.order_number} {list(r.items)} {r.resolution}" for r in new_returns]
            kind = f" as {want.resolution}" if want.resolution else ""
            failures.append(
                f"should open a return on {number} for {list(names) or 'any items'}{kind}; "
                f"new returns: {got or 'none'}"
            )
        else:
            unclaimed.remove(match)
    for extra in unclaimed:
        failures.append(
            f"unexpected return {extra.rma} on {extra.order_number}: {list(extra.items)}"
        )

    cancelled = {values[name].number for name in expected.cancelled}
    edited = {values[i.order].number: i for i in expected.items}
    addressed = {values[a.order].number: a for a in expected.address}
    for number, old in before.orders.items():
        new = after.orders.get(number, old)
        was_cancelled = old.status != "cancelled" and new.status == "cancelled"
        if number in cancelled and not was_cancelled:
            failures.append(f"{number} should be cancelled; status {new.status}")
        elif number not in cancelled and was_cancelled:
            failures.append(f"{number} was cancelled, which it should not be")
        elif old.status != new.status and not was_cancelled and not _return_status(old, new):
            failures.append(f"{number} changed status {old.status} -> {new.status}")
        moved = (old.line1, old.city, old.postal_code) != (new.line1, new.city, new.postal_code)
        want = addressed.get(number)
        if want is None and moved:
            failures.append(f"{number}: shipping address changed to {new.line1}, {new.city}")
        elif want is not None:
            failures += _address_failures(number, want, new, moved, values)
        failures += _items_failures(number, old, new, edited.get(number), values)
    return failures


def _items_failures(
    number: str, old: OrderState, new: OrderState, want: Any, values: dict[str, Any]
) -> list[str]:
    """An order's lines change only where the scenario expects it, and then as it says."""
    if want is None:
        if old.items != new.items:
            return [f"{number}: items changed {list(old.items)} -> {list(new.items)}"]
        return []
    if old.items == new.items:
        return [f"{number}: the items should change; they did not"]
    failures = []
    for pattern in want.has:
        if not any(_pattern(pattern, values).search(line) for line in new.items):
            failures.append(f"{number}: items should include /{pattern}/; are {list(new.items)}")
    for pattern in want.lacks:
        if any(_pattern(pattern, values).search(line) for line in new.items):
            failures.append(f"{number}: items should not include /{pattern}/: {list(new.items)}")
    return failures


def _return_status(old: OrderState, new: OrderState) -> bool:
    """A status move that a new return explains (checked with the returns themselves)."""
    return new.status in ("returned", "partially_refunded") and old.status != new.status


def _address_failures(
    number: str, want: Any, new: OrderState, moved: bool, values: dict[str, Any]
) -> list[str]:
    if not moved:
        return [f"{number}: the shipping address should change; it did not"]
    failures = []
    for name in ("line1", "city"):
        wanted = getattr(want, name)
        if wanted and fill(wanted, values).lower() not in getattr(new, name).lower():
            failures.append(
                f"{number}: address {name} should be {wanted!r}, is {getattr(new, name)!r}"
            )
    if want.postal_code and normalize_postal_code(fill(want.postal_code, values)) != (
        normalize_postal_code(new.postal_code)
    ):
        failures.append(f"{number}: postal code should be {want.postal_code}, is {new.postal_code}")
    return failures


def _tool_matches(use: ToolUse, spec: ToolExpect, values: dict[str, Any]) -> bool:
    if use.name != spec.name or (spec.ok is not None and use.ok != spec.ok):
        return False
    return all(
        _pattern(pattern, values).search(str(use.args.get(key, "")))
        for key, pattern in spec.args.items()
    )


def _describe(spec: ToolExpect) -> str:
    ok = "" if spec.ok is None else (" (succeeding)" if spec.ok else " (refused)")
    args = f" with {spec.args}" if spec.args else ""
    return f"{spec.name}{ok}{args}"
