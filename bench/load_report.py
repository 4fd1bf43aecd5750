"""Figures of a bench/load.py run: per kind of turn count, p50/p95/p99/max of the reply latency
and errors by cause; totals with turns/s and the server's CPU seconds per turn; a Markdown
table for docs/benchmarks.md and the same as JSON."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bench.load_client import TurnRecord


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q % of the values at or below it."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _latencies(records: Sequence[TurnRecord]) -> dict[str, Any]:
    values = sorted(r.latency_s * 1000 for r in records if r.latency_s is not None)
    errors = Counter(r.error for r in records if r.error is not None)
    return {
        "count": len(values),
        "errors": sum(errors.values()),
        "errors_by_cause": dict(sorted(errors.items())),
        "p50_ms": _round(percentile(values, 50)),
        "p95_ms": _round(percentile(values, 95)),
        "p99_ms": _round(percentile(values, 99)),
        "max_ms": _round(values[-1] if values else math.nan),
    }


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 1)


def summarize(
    records: Sequence[TurnRecord],
    *,
    elapsed_s: float,
    cpu_s: float | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`elapsed_s`: from the first send to the last reply; `cpu_s`: the server's CPU seconds
    over the run (None when its processes are unknown)."""
    kinds = sorted({r.kind for r in records})
    by_kind = {kind: _latencies([r for r in records if r.kind == kind]) for kind in kinds}
    total = _latencies(records)
    done = total["count"]
    report: dict[str, Any] = {
        "turns": done,
        "errors": total["errors"],
        "elapsed_s": round(elapsed_s, 2),
        "turns_per_s": round(done / elapsed_s, 2) if elapsed_s > 0 else None,
        "server_cpu_s": round(cpu_s, 2) if cpu_s is not None else None,
        "server_cpu_ms_per_turn": round(cpu_s * 1000 / done, 1) if cpu_s and done else None,
        "all": total,
        "by_kind": by_kind,
    }
    report.update(extra or {})
    return report


def _cell(value: Any) -> str:
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def markdown(report: dict[str, Any]) -> str:
    lines = [f"**{report['mode']}** — {report['title']}", ""]
    if report.get("by_kind"):
        lines += [
            "| kind | turns | p50 ms | p95 ms | p99 ms | max ms | errors |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        rows = [*report["by_kind"].items(), ("**all**", report["all"])]
        for kind, row in rows:
            causes = ", ".join(f"{k} {v}" for k, v in row["errors_by_cause"].items())
            cells = [kind, row["count"], row["p50_ms"], row["p95_ms"], row["p99_ms"], row["max_ms"]]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + f" | {causes or 0} |")
        lines.append("")
    facts = [
        ("turns/s", report.get("turns_per_s")),
        ("server CPU ms/turn", report.get("server_cpu_ms_per_turn")),
        ("server CPU s", report.get("server_cpu_s")),
        ("elapsed s", report.get("elapsed_s")),
        ("visits", report.get("visits")),
        ("turns the server counted", report.get("server_turns")),
        ("server processes", report.get("server_processes")),
        ("server RSS MB before", report.get("rss_mb_before")),
        ("server RSS MB after", report.get("rss_mb_after")),
    ]
    for key in ("sockets_open", "sockets_failed", "pongs", "extra_mb", "kb_per_socket"):
        facts.append((key.replace("_", " "), report.get(key)))
    if report.get("rss_samples"):
        samples = ", ".join(f"{s['t_s']:g}s {s['rss_mb']:g}" for s in report["rss_samples"])
        facts += [("RSS samples (MB)", samples), ("RSS growth %", report.get("rss_growth_pct"))]
    lines.append(" · ".join(f"{k}: {_cell(v)}" for k, v in facts if v is not None))
    return "\n".join(lines)
