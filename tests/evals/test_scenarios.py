"""The scenario suite (evals/scenarios/*.yaml): every file loads and is well-formed, a bad file is
refused with its reason, and the whole suite, run against the real product (generated demo
store, demo help center, offline engine), reaches its pass-rate floor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evals.scenarios.env import EvalEnv, eval_settings
from evals.scenarios.loader import ScenarioError, load_suite
from evals.scenarios.model import Scenario
from evals.scenarios.report import as_json, table
from evals.scenarios.runner import run_scenario, run_suite

# The share of scenarios that passed at k=1 when this floor was set, less a margin for the
# orders picked (they change with the day): 113/124 = 0.911 on 2026-11-30, floor 0.85 (it was
# 0.70 at 79/110; 0.93 at 158/159 on 2026-12-01 with the fine-tuned embedder as the default).
# Raise the floor as the engine gets better, never lower it quietly.
PASS_RATE_FLOOR = 0.93
TAGS = {
    "order-status", "delivery", "returns", "cancel", "address", "refunds", "faq", "handoff",
    "typos", "corrections", "multi-intent", "topic-switch", "off-topic", "rude", "security",
    "verification", "approval", "policy", "exchanges", "staff", "small-talk", "format",
    "catalog", "language",
}  # fmt: skip


def test_every_scenario_file_loads() -> None:
    scenarios = load_suite()
    assert len(scenarios) >= 80
    assert len({s.name for s in scenarios}) == len(scenarios)
    for scenario in scenarios:
        assert set(scenario.tags) <= TAGS, (
            f"{scenario.name}: unknown tags {set(scenario.tags) - TAGS}"
        )
        assert _checks_something(scenario), f"{scenario.name} checks nothing but the store"
    covered = {tag for s in scenarios for tag in s.tags}
    assert covered == TAGS


def _checks_something(scenario: Scenario) -> bool:
    checks = [scenario.expect, *(t.expect for t in scenario.turns)]
    fields = ("says", "never_says", "tools", "no_tools", "cites", "escalation", "owner")
    explicit_store = scenario.expect.store != "unchanged" or bool(scenario.expect.actions)
    return explicit_store or any(getattr(c, f) for c in checks for f in fields)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("scenarios:\n  - name: x\n    turns: [{customer: hi}]\n    expect: {sayz: [a]}\n", "sayz"),
        ("scenarios:\n  - name: x\n    turns: [{customer: 'about {order.number}'}]\n", "order"),
        (
            "scenarios:\n  - name: x\n    orders: {a: {same_customer_as: b}, b: {}}\n"
            "    turns: [{customer: hi}]\n",
            "declared before",
        ),
        ("scenarios:\n  - name: x\n    turns: [{staff: reply}]\n", "text"),
        ("scenarios:\n  - name: Bad Name\n    turns: [{customer: hi}]\n", "lower-case"),
        ("scenarios:\n  - name: x\n    turns: []\n", "turns"),
    ],
)
def test_a_bad_file_is_refused_with_its_reason(tmp_path: Path, body: str, reason: str) -> None:
    (tmp_path / "bad.yaml").write_text(body)
    with pytest.raises(ScenarioError, match=reason):
        load_suite(tmp_path)


def test_duplicate_names_across_files_are_refused(tmp_path: Path) -> None:
    body = "scenarios:\n  - name: same\n    turns: [{customer: hi}]\n"
    (tmp_path / "a.yaml").write_text(body)
    (tmp_path / "b.yaml").write_text(body)
    with pytest.raises(ScenarioError, match="also in a.yaml"):
        load_suite(tmp_path)


def test_filter_by_name_glob_and_tag() -> None:
    assert {s.name for s in load_suite(name_filter="faq-return*")} == {"faq-return-policy"}
    assert all(
        "security" in s.tags or "security" in s.name for s in load_suite(name_filter="security")
    )


def test_cli_reports_a_broken_suite(tmp_path: Path) -> None:
    from cli import app

    (tmp_path / "bad.yaml").write_text("scenarios: []\n")
    result = CliRunner().invoke(app, ["eval", "--suite", str(tmp_path)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output


async def test_suite_against_the_product(tmp_path: Path, embedder: Any, triager: Any) -> None:
    env = await EvalEnv.open(eval_settings(tmp_path / "eval"), embedder=embedder, triager=triager)
    try:
        suite = await run_suite(env, load_suite(), k=1)
        # a scenario that expects the wrong thing fails against the same product
        wrong = Scenario.model_validate(
            {
                "name": "wrong-expectation",
                "turns": [{"customer": "What is your return policy?"}],
                "expect": {"says": ["we never take anything back"], "escalation": "any"},
            }
        )
        failed = await run_scenario(env, wrong)
        # pass^k: two runs, two different orders, both scored
        status = next(s for s in load_suite() if s.name == "status-shipped-step-by-step")
        twice = await run_scenario(env, status, k=2)
    finally:
        await env.close()

    report = table(suite)
    assert suite.pass_rate >= PASS_RATE_FLOOR, report
    assert f"{suite.passed}/{len(suite.results)} scenarios passed" in report
    data = json.loads(json.dumps(as_json(suite), default=str))
    assert data["scenarios"] == len(suite.results) and data["results"][0]["runs"][0]["transcript"]

    assert not failed.passed
    assert any("we never take anything back" in f for f in failed.failures)
    assert any("should escalate" in f for f in failed.failures)

    assert len(twice.runs) == 2
    assert twice.runs[0].orders["order"] != twice.runs[1].orders["order"]
    assert twice.passed == all(r.passed for r in twice.runs)
