"""Answer-section eval: does the offline engine's help-center answer quote a labelled section?

    .venv/bin/python -m evals.retrieval.answers --split dev          # the three sets, dev halves
    .venv/bin/python -m evals.retrieval.answers --split test --json out.json
    .venv/bin/python -m evals.retrieval.answers --set demo-blind --split dev --misses

The retrieval eval (evals/retrieval/run.py) scores the ranking; this one scores the step after
it. For each answerable question of a set's split it runs what the offline engine runs for a
help-center question: `KnowledgeBase.search` with the product's `kb_top_k` (as the
`search_help_center` tool, its passages as the tool returns them) and, when the search answers,
`agent.local.passages.answer` with the intent reader's embedder (as agent/local/dialogue.py).
The answer quotes one passage; it counts when that passage's section ("doc|heading") is one of
the question's labelled sections.

Per set: `quoted` (the quoted section is labelled) of `answered` (the search answered), of the
answerable questions; `retrieved` (a labelled section among the passages the answer chose from:
what the answer step could have got right). Tune only on dev; test is the held-out figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evals.retrieval.sets import EvalSet, named_sets


@dataclass
class Outcome:
    id: str
    question: str
    relevant: list[str]
    answered: bool
    passages: list[str]  # section keys of the passages the answer chose from, best first
    quoted: str | None  # section key of the passage the answer quotes
    text: str  # the answer's text

    @property
    def hit(self) -> bool:
        return self.quoted is not None and self.quoted in self.relevant

    @property
    def retrieved(self) -> bool:
        from agent.local.passages import PASSAGES

        return any(p in self.relevant for p in self.passages[:PASSAGES])


def run_set(eval_set: EvalSet, split: str, embedder: Any) -> list[Outcome]:
    from agent.local.passages import answer
    from evals.retrieval.systems import HybridSystem, labelled_questions
    from settings import Settings
    from tools.knowledge import passage_views

    questions = labelled_questions(eval_set)
    chosen = [q for q in questions if q.answerable and split in ("all", q.split)]
    top_k = Settings().kb_top_k
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="kb-answers-") as tmp:
        system = HybridSystem(Path(tmp), embedder, eval_set.corpus, None, dict(eval_set.settings))
        kb = system.kb
        section = {
            c.id: f"{c.metadata['doc_id']}|{c.metadata['heading']}" for c in kb.store.iter_chunks()
        }
        for q in chosen:
            result = kb.search(q.question, top_k)
            passages = passage_views(result.passages)
            keys_ = [section.get(p["id"], "?") for p in passages]
            if not (result.answerable and passages):
                outcomes.append(Outcome(q.id, q.question, q.relevant, False, keys_, None, ""))
                continue
            found = answer(
                q.question, passages, embed=embedder.embed, space=getattr(embedder, "space", None)
            )
            quoted = section.get(found.passage_id, "?")
            outcomes.append(Outcome(q.id, q.question, q.relevant, True, keys_, quoted, found.text))
    return outcomes


def summary(outcomes: list[Outcome]) -> dict[str, int]:
    answered = [o for o in outcomes if o.answered]
    return {
        "answerable": len(outcomes),
        "answered": len(answered),
        "retrieved": sum(o.retrieved for o in answered),
        "quoted": sum(o.hit for o in answered),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["all", "dev", "test"], default="dev")
    parser.add_argument(
        "--set", dest="sets", action="append", choices=[*named_sets(), "all"],
        help="a named set (repeatable; default all)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the counts and every answer here")
    parser.add_argument("--misses", action="store_true", help="list the answers that miss")
    args = parser.parse_args(argv)

    from knowledge.embedder import make_embedder

    named = named_sets()
    wanted = args.sets or ["all"]
    names = list(named) if "all" in wanted else list(dict.fromkeys(wanted))
    embedder = make_embedder()
    out: dict[str, Any] = {"split": args.split, "sets": {}}
    total = {"answerable": 0, "answered": 0, "retrieved": 0, "quoted": 0}
    for name in names:
        outcomes = run_set(named[name], args.split, embedder)
        counts = summary(outcomes)
        total = {k: total[k] + v for k, v in counts.items()}
        print(
            f"{name:11} split={args.split}: quoted a labelled section {counts['quoted']}"
            f"/{counts['answered']} answered ({counts['answerable']} answerable; a labelled "
            f"section among the passages for {counts['retrieved']})",
            flush=True,
        )
        if args.misses:
            for o in outcomes:
                if o.answered and not o.hit:
                    mark = "" if o.retrieved else " [not retrieved]"
                    print(f"  {o.id} {o.question!r}: quoted {o.quoted}; wanted {o.relevant}{mark}")
        out["sets"][name] = {
            "counts": counts,
            "answers": [{**asdict(o), "hit": o.hit} for o in outcomes],
        }
    print(f"{'total':11} split={args.split}: {total['quoted']}/{total['answered']} answered")
    out["total"] = total
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
