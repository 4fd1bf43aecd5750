"""The compatibility row of `support-agent eval --model`."""

from __future__ import annotations

from decimal import Decimal

from agent.llm_report import HEADER, compatibility_row


def test_the_row_sums_the_model_paths_counters() -> None:
    report = {
        "counts": {
            "model": 40,
            "fallback:http_500": 2,
            "fallback:timeout": 1,
            "handoff:tool_calls": 1,
            "guard:unbacked_claim": 3,
        },
        "tokens_in": 123456,
        "tokens_out": 7890,
        "cost": Decimal("0.023"),
    }
    row = compatibility_row("gpt-4o-mini", passed=30, total=32, report=report)
    assert row == "| gpt-4o-mini | 30/32 | 40 | 3 | 1 | 3 | 123,456 / 7,890 | 0.0230 |"
    assert HEADER.count("|") // 2 == row.count("|")
