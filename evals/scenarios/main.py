"""`support-agent eval`: load the suite, build the product in a temporary data dir, run, print."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from evals.scenarios.env import EvalEnv, eval_settings
from evals.scenarios.loader import load_suite
from evals.scenarios.report import as_json, table
from evals.scenarios.runner import SuiteResult, run_suite


async def evaluate(
    *,
    suite: Path | None = None,
    k: int = 1,
    name_filter: str | None = None,
    model: str | None = None,
    report: dict[str, Any] | None = None,
    **parts: Any,
) -> SuiteResult:
    """Runs the (filtered) suite in a fresh temporary data dir. `parts` go to build_services.
    `model`: run it on that OpenAI-compatible model (base URL and key from the environment,
    docs/models.md); `report` is then filled with the model path's counters and usage."""
    for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1")):
        os.environ.setdefault(name, value)  # a stray model id fails at once, never downloads
    scenarios = load_suite(suite, name_filter=name_filter)
    if not scenarios:
        raise ValueError(f"no scenario matches {name_filter!r}")
    with tempfile.TemporaryDirectory(prefix="support-eval-") as tmp:
        overrides = {"llm_provider": "openai", "openai_model": model} if model else {}
        env = await EvalEnv.open(eval_settings(Path(tmp), **overrides), **parts)
        try:
            result = await run_suite(env, scenarios, k=k)
            if model and report is not None:
                from agent.llm_report import model_usage_report

                report.update(await model_usage_report(env.services))
            return result
        finally:
            await env.close()


def render(result: SuiteResult, *, as_json_output: bool) -> str:
    if as_json_output:
        return json.dumps(as_json(result), ensure_ascii=False, indent=2, default=str)
    return table(result)
