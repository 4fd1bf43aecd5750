"""Retrieval eval: labelled question sets against our retriever, its stages and the baselines.

    .venv/bin/python -m evals.retrieval.run                       # the project set, all questions
    .venv/bin/python -m evals.retrieval.run --set all --split test  # three sets, held-out halves
    .venv/bin/python -m evals.retrieval.run --set faq2-blind --split dev
    .venv/bin/python -m evals.retrieval.run --corpus faq.json --questions q.jsonl --split all
    .venv/bin/python -m evals.retrieval.run --set all --fit        # re-fit answerability on dev
    .venv/bin/python -m evals.retrieval.run --json out.json

Sets: `project` (questions written next to the demo help center's articles), `demo-blind` (the
demo help center, questions written from its topic list only) and `faq2-blind` (an independent
80-entry Q&A file, questions written from its topic list only). A question's `relevant` labels are
section keys ("doc|heading") or, for a Q&A file whose entries have ids, entry ids ("f017").

Metrics over answerable questions: recall@1, recall@3 (a labelled section among the top 1 / 3
passages), MRR (over the top 10). Abstention: precision (abstained questions that were really
unanswerable) and recall (unanswerable questions abstained on), and the answer rate on answerable
ones. Every row but ours abstains below a threshold tuned on the set's dev split to answer 95 %;
ours uses the product's floor. Tune only on dev splits; the test splits are the held-out figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evals.retrieval.report import emit, payload, report
from evals.retrieval.scoring import Scores, first_hit, fit, score, tune_threshold
from evals.retrieval.sets import QUESTIONS, EvalSet, Question, named_sets


@dataclass
class SetResult:
    """Every system's runs over one set's questions, and the table for the chosen split."""

    eval_set: EvalSet
    questions: list[Question]
    runs: dict[str, dict[str, Any]]
    table: list[Scores]
    hybrid_name: str
    retriever: Any
    setup_s: float
    flagged: int  # chunks of the corpus flagged as untrusted (never searched)


def run_set(
    eval_set: EvalSet,
    split: str,
    embedder: Any,
    *,
    baseline: bool = True,
    stages: bool = True,
    config: Any = None,
) -> SetResult:
    """Ingest the set's corpus once, run every system on every question, score `split`."""
    from evals.retrieval.systems import (
        STAGES,
        HybridSystem,
        LangChainSystem,
        StageSystem,
        labelled_questions,
    )

    questions = labelled_questions(eval_set)
    dev = [q for q in questions if q.split == "dev"]
    chosen = questions if split == "all" else [q for q in questions if q.split == split]
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        started = time.perf_counter()
        hybrid = HybridSystem(
            Path(tmp) / "hybrid", embedder, eval_set.corpus, config, dict(eval_set.settings)
        )
        flagged = hybrid.kb.stats().flagged_chunks
        systems: list[Any] = [hybrid]
        if eval_set.settings:
            # as `kb ingest` runs on a fresh install: the store's address not configured
            fresh = HybridSystem(Path(tmp) / "fresh", embedder, eval_set.corpus, config, {})
            fresh.name = "ours, store not configured (a fresh install's kb ingest)"
            systems.append(fresh)
        if stages:
            systems += [StageSystem(hybrid, name, changes) for name, changes in STAGES]
        if baseline:
            systems.append(LangChainSystem(Path(tmp) / "langchain", embedder, eval_set.corpus))
        setup_s = time.perf_counter() - started
        runs = {s.name: {q.id: s.run(q.question, 10) for q in questions} for s in systems}
    table: list[Scores] = []
    for system in systems:
        values = {qid: r.score for qid, r in runs[system.name].items()}
        threshold = (
            system.kb.answer_floor
            if isinstance(system, HybridSystem)
            else tune_threshold(dev, values)
        )
        table.append(score(system.name, chosen, runs[system.name], threshold))
    return SetResult(
        eval_set, questions, runs, table, hybrid.name, hybrid.kb.retriever, setup_s, flagged
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["all", "dev", "test"], default="all")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        choices=[*named_sets(), "all"],
        help="a named set (repeatable; default: project, or --corpus/--questions)",
    )
    parser.add_argument("--corpus", type=Path, help="a folder or file to ingest")
    parser.add_argument("--questions", type=Path, help="labelled questions (JSON lines)")
    parser.add_argument("--fit", action="store_true", help="fit answerability on the dev halves")
    parser.add_argument("--json", type=Path, help="write scores and per-question results here")
    parser.add_argument("--no-baseline", action="store_true", help="skip the LangChain baseline")
    parser.add_argument("--no-stages", action="store_true", help="skip the one-stage rows")
    args = parser.parse_args(argv)

    from knowledge.embedder import make_embedder

    sets = _chosen_sets(args)
    embedder = make_embedder()
    results = [
        run_set(
            eval_set,
            args.split,
            embedder,
            baseline=not args.no_baseline,
            stages=not args.no_stages,
        )
        for eval_set in sets
    ]
    ok = True
    for result in results:
        ok = report(result, args.split) and ok
    if args.fit:  # question ids repeat across sets ("b001"): key them by set
        dev_all, signals, top1 = [], {}, {}
        for r in results:
            for q in r.questions:
                key = f"{r.eval_set.name}:{q.id}"
                ranked = r.runs[r.hybrid_name][q.id]
                signals[key] = ranked.signals
                top1[key] = first_hit(ranked.sections, q.relevant) == 1
                if q.split == "dev":
                    dev_all.append(replace(q, id=key))
        emit(f"fitted on dev ({len(dev_all)} questions): {fit(dev_all, signals, top1)}")
    if args.json:
        args.json.write_text(json.dumps([payload(r) for r in results], indent=1))
    emit("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


def _chosen_sets(args: argparse.Namespace) -> list[EvalSet]:
    named = named_sets()
    if args.corpus or args.questions:
        return [EvalSet("custom", args.corpus, args.questions or QUESTIONS)]
    wanted = args.sets or ["project"]
    if "all" in wanted:
        wanted = list(named)
    return [named[name] for name in dict.fromkeys(wanted)]


if __name__ == "__main__":
    sys.exit(main())
