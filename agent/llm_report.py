"""The compatibility row `support-agent eval --model NAME` prints for docs/models.md: how the
scenario suite went on that model, and what the model path had to do about it (fallbacks,
handoffs on limits, replies replaced by guards), with the tokens and cost it used."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from storage.tables_llm import ModelUsage

HEADER = (
    "| model | scenarios passed | model turns | fallbacks | limit handoffs | guard trips "
    "| tokens in / out | cost (USD) |\n|---|---|---|---|---|---|---|---|"
)


async def model_usage_report(services: Any) -> dict[str, Any]:
    """Counters of the model path and the usage totals, read before the eval's data goes."""
    path = getattr(services.runner, "_llm", None)
    counts = dict(path.counts) if path is not None else {}
    async with services.sessions() as session:
        row = (
            await session.execute(
                select(
                    func.coalesce(func.sum(ModelUsage.prompt_tokens), 0),
                    func.coalesce(func.sum(ModelUsage.completion_tokens), 0),
                    func.coalesce(func.sum(ModelUsage.cost), 0),
                )
            )
        ).one()
    return {"counts": counts, "tokens_in": int(row[0]), "tokens_out": int(row[1]), "cost": row[2]}


def compatibility_row(model: str, *, passed: int, total: int, report: dict[str, Any]) -> str:
    counts: dict[str, int] = report.get("counts") or {}

    def total_of(prefix: str) -> int:
        return sum(n for key, n in counts.items() if key.startswith(prefix))

    return (
        f"| {model} | {passed}/{total} | {counts.get('model', 0)} | {total_of('fallback:')} "
        f"| {total_of('handoff:')} | {total_of('guard:')} "
        f"| {report.get('tokens_in', 0):,} / {report.get('tokens_out', 0):,} "
        f"| {float(report.get('cost') or 0):.4f} |"
    )
