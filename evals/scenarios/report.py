"""The eval's output: a table for people, JSON for machines."""

from __future__ import annotations

from typing import Any

from evals.scenarios.runner import ScenarioResult, SuiteResult


def _turns(result: ScenarioResult) -> int:
    return len(result.scenario.turns)


def table(suite: SuiteResult, *, width: int = 100) -> str:
    name_w = max([len("scenario"), *(len(r.scenario.name) for r in suite.results)])
    lines = [f"{'scenario':<{name_w}}  turns  passed  failed checks", "-" * min(width, name_w + 40)]
    for result in suite.results:
        runs = len(result.runs)
        ok = sum(r.passed for r in result.runs)
        mark = "yes" if result.passed else "NO"
        passed = f"{mark} {ok}/{runs}" if runs > 1 else mark
        failures = result.failures
        first = failures[0] if failures else ""
        room = max(20, width - name_w - 17)
        name = result.scenario.name
        lines.append(f"{name:<{name_w}}  {_turns(result):>5}  {passed:<6}  {_cut(first, room)}")
        for more in failures[1:]:
            lines.append(f"{'':<{name_w}}  {'':>5}  {'':<6}  {_cut(more, room)}")
    total = len(suite.results)
    lines.append("")
    lines.append(
        f"{suite.passed}/{total} scenarios passed ({suite.pass_rate:.1%}), pass^{suite.k}, "
        f"{sum(len(r.runs) for r in suite.results)} runs in {suite.seconds:.1f} s"
    )
    return "\n".join(lines)


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 1] + "…"


def as_json(suite: SuiteResult) -> dict[str, Any]:
    return {
        "k": suite.k,
        "scenarios": len(suite.results),
        "passed": suite.passed,
        "pass_rate": round(suite.pass_rate, 4),
        "seconds": round(suite.seconds, 2),
        "results": [
            {
                "name": r.scenario.name,
                "tags": r.scenario.tags,
                "turns": _turns(r),
                "passed": r.passed,
                "runs": [
                    {
                        "run": run.run + 1,
                        "passed": run.passed,
                        "orders": run.orders,
                        "conversation_id": run.conversation_id,
                        "failures": run.failures,
                        "seconds": round(run.seconds, 3),
                        "transcript": [
                            {
                                "kind": s.kind,
                                "sent": s.sent,
                                "replies": s.replies,
                                "tools": [
                                    {"name": t.name, "args": t.args, "ok": t.ok} for t in s.tools
                                ],
                                "error": s.error,
                            }
                            for s in run.steps
                        ],
                    }
                    for run in r.runs
                ],
            }
            for r in suite.results
        ],
    }
