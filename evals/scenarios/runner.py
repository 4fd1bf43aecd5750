"""Runs scenarios against the product: each customer turn through `Runner.run_turn`, each staff
step through the staff API's own route functions, then the checks. pass^k: a scenario passes
only if all of its k runs pass (each run on a freshly reset store, possibly another order)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException

from channels.summary import collect
from errors import SupportAgentError
from evals.scenarios.checks import (
    Outcome,
    Step,
    ToolUse,
    check_invariants,
    check_outcome,
    check_replies,
)
from evals.scenarios.env import EvalEnv
from evals.scenarios.fixtures import NoFixture, apply_fixture
from evals.scenarios.model import CustomerTurn, Scenario, StaffTurn
from evals.scenarios.orders import NoMatchingOrder, fill, pick_orders
from storage import repo
from storage.tables import LIVE_ACTION_STATUSES, ActionStatus, PendingAction

STAFF_ID = "eval-staff"
CHANNEL = "web"


@dataclass(frozen=True)
class StoreFacts:
    name: str
    support_email: str


@dataclass
class RunResult:
    scenario: str
    run: int
    orders: dict[str, str] = field(default_factory=dict)  # role -> order number
    steps: list[Step] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    conversation_id: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class ScenarioResult:
    scenario: Scenario
    runs: list[RunResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.runs)

    @property
    def failures(self) -> list[str]:
        return [
            f"run {r.run + 1}: {f}" if len(self.runs) > 1 else f
            for r in self.runs
            for f in r.failures
        ]


async def run_scenario(env: EvalEnv, scenario: Scenario, *, k: int = 1) -> ScenarioResult:
    runs: list[RunResult] = []
    used: set[str] = set()
    for run in range(k):
        result = await run_once(env, scenario, run, avoid=used)
        used.update(result.orders.values())
        runs.append(result)
    return ScenarioResult(scenario, runs)


async def run_once(
    env: EvalEnv, scenario: Scenario, run: int, *, avoid: set[str] | None = None
) -> RunResult:
    started = time.perf_counter()
    result = RunResult(scenario.name, run)
    try:
        chosen = pick_orders(scenario, env.pool, run, avoid=avoid or set())
    except NoMatchingOrder as exc:
        result.failures.append(str(exc))
        return result
    settings = env.services.settings
    values: dict[str, Any] = {
        **chosen,
        "store": StoreFacts(settings.store_name, settings.support_email),
    }
    result.orders = {role: facts.number for role, facts in chosen.items()}
    await env.reset_store()
    for role, criteria in scenario.orders.items():
        if criteria.lines:
            # a fixture: the picked order gets exactly the lines the scenario asks for
            try:
                chosen[role] = await apply_fixture(
                    env, chosen[role], criteria.lines, (scenario.name, run, role)
                )
            except NoFixture as exc:
                result.failures.append(f"orders.{role}: {exc}")
                return result
            values[role] = chosen[role]
    numbers = list(result.orders.values())
    before = await env.snapshot(numbers)
    for number, turn in enumerate(scenario.turns, start=1):
        try:
            step = await _play(env, turn, values, result)
        except (KeyError, IndexError, AttributeError) as exc:
            step = Step("customer", "", error=f"placeholder: {exc!r}")
        result.steps.append(step)
        result.failures += [
            f"turn {number}: {f}" for f in check_replies(turn.expect, [step], values)
        ]
    result.failures += check_invariants(result.steps)
    result.failures += check_replies(scenario.expect, result.steps, values, final=True)
    if result.conversation_id is not None:
        owner, escalations, actions = await env.conversation_state(result.conversation_id)
    else:
        owner, escalations, actions = "", [], []
    outcome = Outcome(owner, escalations, actions, before, await env.snapshot(numbers))
    result.failures += check_outcome(scenario.expect, outcome, values)
    await _walk_away(env, result.conversation_id)
    result.seconds = time.perf_counter() - started
    return result


async def _play(
    env: EvalEnv, turn: CustomerTurn | StaffTurn, values: dict[str, Any], result: RunResult
) -> Step:
    if isinstance(turn, CustomerTurn):
        return await _customer(env, fill(turn.customer, values), result)
    return await _staff(env, turn, values, result)


async def _customer(env: EvalEnv, text: str, result: RunResult) -> Step:
    step = Step("customer", text)
    try:
        turn = await collect(
            env.services.runner.run_turn(
                text=text, channel=CHANNEL, conversation_id=result.conversation_id
            )
        )
    except SupportAgentError as exc:
        step.error = f"{type(exc).__name__}: {exc}"
        return step
    result.conversation_id = turn.conversation_id
    if turn.text:
        step.replies.append(turn.text)
    step.tools = [ToolUse(c.name, dict(c.args), c.ok) for c in turn.tool_calls]
    step.citations = [{"id": c.id, "title": c.title} for c in turn.citations]
    step.escalations = [turn.escalation.reason] if turn.escalation else []
    step.owner = str(turn.owner)
    return step


async def _staff(env: EvalEnv, turn: StaffTurn, values: dict[str, Any], result: RunResult) -> Step:
    from console import api, staff
    from console.auth import StaffPrincipal

    # the eval acts as automation does: the bearer token, with the body's staff_id
    principal = StaffPrincipal(id=STAFF_ID, email=None, role="admin", via="bearer")
    step = Step("staff", turn.staff)
    conversation_id = result.conversation_id
    if conversation_id is None:
        step.error = "a staff step needs a conversation: start with a customer turn"
        return step
    services = env.services
    after = await _last_seq(env, conversation_id)
    text = fill(turn.text, values)
    try:
        if turn.staff in ("approve", "reject"):
            action = await _awaiting_approval(env, conversation_id)
            if action is None:
                step.error = f"nothing awaits approval, so staff cannot {turn.staff}"
                return step
            decision = api.Decision(note=text, staff_id=STAFF_ID)
            route = api.approve if turn.staff == "approve" else api.reject
            await route(action.id, decision, services, principal)
        elif turn.staff == "reply":
            body = staff.StaffReplyBody(staff_id=STAFF_ID, text=text)
            await staff.reply(conversation_id, body, services, principal)
        elif turn.staff == "receive_return":
            number = values[turn.order].number
            returns = await services.store.list_returns(order_number=number)
            if not returns:
                step.error = f"no return on {number} for the warehouse to receive"
                return step
            await services.store.receive_return(rma=returns[0].rma)
        else:
            route = {"claim": staff.claim, "hand_back": staff.hand_back, "resolve": staff.resolve}
            await route[turn.staff](
                conversation_id, staff.StaffAction(staff_id=STAFF_ID), services, principal
            )
    except HTTPException as exc:
        step.error = f"staff {turn.staff} refused: {exc.status_code} {exc.detail}"
        return step
    async with services.sessions() as session:
        rows = await repo.history(session, conversation_id)
        conversation = await repo.get_conversation(session, conversation_id)
    step.replies = [m.text for m in rows if m.seq > after and m.role != "customer" and m.text]
    step.owner = str(conversation.owner) if conversation else ""
    return step


async def _last_seq(env: EvalEnv, conversation_id: str) -> int:
    async with env.services.sessions() as session:
        rows = await repo.history(session, conversation_id, limit=1)
    return rows[-1].seq if rows else 0


async def _awaiting_approval(env: EvalEnv, conversation_id: str) -> PendingAction | None:
    from sqlalchemy import select

    async with env.services.sessions() as session:
        return await session.scalar(
            select(PendingAction)
            .where(
                PendingAction.conversation_id == conversation_id,
                PendingAction.status == ActionStatus.AWAITING_APPROVAL,
            )
            .order_by(PendingAction.created_at.desc())
        )


async def _walk_away(env: EvalEnv, conversation_id: str | None) -> None:
    """The customer leaves: what still waits for them expires, so a later run on the same order
    is not told the request is "already being handled in another conversation"."""
    if conversation_id is None:
        return
    from sqlalchemy import select

    from tools import actions

    async with env.services.sessions() as session:
        live = (
            await session.scalars(
                select(PendingAction.id).where(
                    PendingAction.conversation_id == conversation_id,
                    PendingAction.status.in_(list(LIVE_ACTION_STATUSES)),
                )
            )
        ).all()
    for action_id in live:
        await actions.decline(env.services.deps, action_id, by="eval", status=ActionStatus.EXPIRED)


@dataclass
class SuiteResult:
    results: list[ScenarioResult]
    k: int
    seconds: float

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def pass_rate(self) -> float:
        return self.passed / len(self.results) if self.results else 0.0


async def run_suite(env: EvalEnv, scenarios: list[Scenario], *, k: int = 1) -> SuiteResult:
    started = time.perf_counter()
    results = [await run_scenario(env, s, k=k) for s in scenarios]
    return SuiteResult(results, k, time.perf_counter() - started)
