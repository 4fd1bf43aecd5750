"""What the retrieval eval prints and writes: a set's table and target checks; the JSON payload."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from evals.retrieval.scoring import (
    TARGET_ANSWER_RATE,
    Scores,
    cross_validate,
    expected_calibration_error,
    first_hit,
)

if TYPE_CHECKING:
    from evals.retrieval.run import SetResult


def report(result: SetResult, split: str) -> bool:
    """Print one set's table and checks; True when its targets are met."""
    questions, runs = result.questions, result.runs
    chosen = questions if split == "all" else [q for q in questions if q.split == split]
    hybrid_runs = runs[result.hybrid_name]
    top1 = {q.id: first_hit(hybrid_runs[q.id].sections, q.relevant) == 1 for q in questions}
    confidence = {q.id: result.retriever.confidence(hybrid_runs[q.id].score) for q in chosen}
    correct = {q.id: q.answerable and top1[q.id] for q in chosen}
    emit(
        f"\n## {result.eval_set.name}: {len(chosen)} questions "
        f"({sum(q.answerable for q in chosen)} answerable, "
        f"{sum(not q.answerable for q in chosen)} unanswerable), split={split}; "
        f"{result.flagged} corpus chunks flagged as untrusted; setup {result.setup_s:.1f} s"
    )
    emit(render(result.table))
    emit(f"ours: expected calibration error {expected_calibration_error(confidence, correct):.3f}")
    signals = {q.id: hybrid_runs[q.id].signals for q in questions}
    cv_answered, cv_abstained = cross_validate(questions, signals)
    emit(
        f"ours, abstention fitted on one half and scored on the other (both ways, all "
        f"{len(questions)}): answered {cv_answered:.3f} of answerable, abstained on "
        f"{cv_abstained:.3f} of unanswerable"
    )
    misses = [
        q
        for q in chosen
        if q.answerable and not first_hit(hybrid_runs[q.id].sections[:3], q.relevant)
    ]
    if misses:
        emit("ours, misses at 3: " + "; ".join(q.question for q in misses[:12]))
    ours, *others = result.table
    baselines = [o for o in others if o.system.startswith(("LangChain", "dense only"))]
    never_below = all(
        ours.recall_at_1 >= o.recall_at_1 and ours.recall_at_3 >= o.recall_at_3 for o in baselines
    )
    if result.eval_set.name == "project":
        ok = never_below and cv_answered >= TARGET_ANSWER_RATE and cv_abstained >= 0.80
        target = (
            "recall not below the dense baselines; cross-validated answered ≥ 0.95, "
            "abstained ≥ 0.80"
        )
    else:
        ok = never_below and ours.recall_at_1 >= 0.75 and ours.recall_at_3 >= 0.92
        target = "recall@1 ≥ 0.75, recall@3 ≥ 0.92, not below the dense baselines"
    emit(("targets met" if ok else "targets NOT met") + f" ({target})")
    return ok


def payload(result: SetResult) -> dict[str, Any]:
    return {
        "set": result.eval_set.name,
        "scores": [asdict(s) for s in result.table],
        "per_question": {
            name: {
                qid: {
                    "score": r.score,
                    "signals": r.signals,
                    "sections": [sorted(s) for s in r.sections[:3]],
                }
                for qid, r in by_question.items()
            }
            for name, by_question in result.runs.items()
        },
    }


def render(table: Sequence[Scores]) -> str:
    header = (
        "| system | recall@1 | recall@3 | MRR | answered (answerable) "
        "| abstain precision | abstain recall | threshold |"
    )
    lines = [header, "|" + "---|" * 8]
    for s in table:
        lines.append(
            f"| {s.system} | {s.recall_at_1:.3f} | {s.recall_at_3:.3f} | {s.mrr:.3f} "
            f"| {s.answer_rate:.3f} | {s.abstain_precision:.3f} | {s.abstain_recall:.3f} "
            f"| {s.threshold:.3f} |"
        )
    return "\n".join(lines)


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
