"""A second reading of a blind set's labels: every section a judge found to answer each question.

The blind questions' labels (`relevant` in the question file) were written with the questions,
from a topic list alone, and name one section each. Some facts sit in another section than the
topic list put them ("what are 500 points worth" is answered by "How the program works", labelled
"Using rewards"), so a system that quotes the section holding the answer can score a miss. A
judge who read the help center, and neither the labels nor any system's ranking, later listed for
every answerable question each section whose text answers it (`judged/<set>.jsonl`: one line per
question, `{"id", "sections", "note"?}`; a Q&A file's sections by entry id, as its labels). The
question files are not touched.

This module scores a run written by `run.py --json` against three label sets, for every system
of the run, so the baselines are scored the same way as the product:

- `written`: the labels as committed with the questions (what `run.py` reports);
- `judged`: the judge's sections alone;
- `either`: a passage counts when it is in either.

    .venv/bin/python -m evals.retrieval.run --set demo-blind --split test --json /tmp/run.json
    .venv/bin/python -m evals.retrieval.judged /tmp/run.json --split test
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.retrieval.sets import Question, named_sets

JUDGED = Path(__file__).with_name("judged")
LABELS = ("written", "judged", "either")


def judged_path(set_name: str) -> Path:
    return JUDGED / f"{set_name}.jsonl"


def load_judged(path: Path, keys: Mapping[str, str] | None = None) -> dict[str, set[str]]:
    """Question id -> the sections the judge found to answer it (empty: none does). `keys`: a
    Q&A file's entry ids ("f017") -> section keys, as `systems.entry_keys` gives them."""
    keys = keys or {}
    judged: dict[str, set[str]] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        item = json.loads(line)
        if not isinstance(item.get("id"), str) or not isinstance(item.get("sections"), list):
            raise ValueError(f"{path}:{number}: needs an id and a list of sections")
        judged[item["id"]] = {keys.get(str(s), str(s)) for s in item["sections"]}
    return judged


def labels(question: Question, judged: Mapping[str, set[str]], kind: str) -> set[str]:
    written = set(question.relevant)
    if kind == "written":
        return written
    if kind == "judged":
        return set(judged.get(question.id, set()))
    if kind == "either":
        return written | judged.get(question.id, set())
    raise ValueError(f"unknown label set {kind!r}; expected one of {LABELS}")


def recall(
    ranked: Mapping[str, Sequence[Iterable[str]]],
    questions: Sequence[Question],
    judged: Mapping[str, set[str]],
    kind: str,
) -> tuple[float, float]:
    """(recall@1, recall@3) of one system's ranked passages (question id -> per passage, the
    sections it holds) over `questions`, against the label set `kind`."""
    at1 = at3 = 0
    for question in questions:
        wanted = labels(question, judged, kind)
        hits = [bool(set(found) & wanted) for found in ranked[question.id][:3]]
        at1 += bool(hits[:1] and hits[0])
        at3 += any(hits)
    n = max(len(questions), 1)
    return at1 / n, at3 / n


def agreement(questions: Sequence[Question], judged: Mapping[str, set[str]]) -> dict[str, int]:
    """How the judge's reading compares with the written labels, over answerable questions."""
    return {
        "questions": len(questions),
        "judge lists the written label": sum(
            1 for q in questions if set(q.relevant) & judged.get(q.id, set())
        ),
        "judge lists another section only": sum(
            1
            for q in questions
            if judged.get(q.id) and not set(q.relevant) & judged.get(q.id, set())
        ),
        "judge finds no answer": sum(1 for q in questions if not judged.get(q.id)),
        "judge lists 2 or more sections": sum(
            1 for q in questions if len(judged.get(q.id, ())) > 1
        ),
    }


def table(
    run: Mapping[str, Any], questions: Sequence[Question], judged: Mapping[str, set[str]]
) -> list[str]:
    """Markdown rows: each system of `run` (one set's `run.py --json` payload), r@1 / r@3
    against each label set."""
    lines = [
        "| system | " + " | ".join(f"{k} r@1 / r@3" for k in LABELS) + " |",
        "|---|" + "---|" * len(LABELS),
    ]
    for system, by_question in run["per_question"].items():
        ranked = {qid: r["sections"] for qid, r in by_question.items()}
        cells = [
            "{:.3f} / {:.3f}".format(*recall(ranked, questions, judged, kind)) for kind in LABELS
        ]
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a file written by evals.retrieval.run --json")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="test")
    args = parser.parse_args(argv)

    from evals.retrieval.systems import entry_keys, labelled_questions

    sets = named_sets()
    printed = 0
    for run in json.loads(args.run.read_text()):
        path = judged_path(run["set"])
        if run["set"] not in sets or not path.exists():
            print(f"## {run['set']}: no judged labels ({path.name}); skipped")
            continue
        corpus = sets[run["set"]].corpus
        judged = load_judged(path, entry_keys(corpus) if corpus is not None else None)
        questions = [
            q
            for q in labelled_questions(sets[run["set"]])
            if q.answerable and (args.split == "all" or q.split == args.split)
        ]
        missing = [q.id for q in questions if q.id not in judged]
        if missing:
            raise SystemExit(f"{path}: no judgement for {len(missing)} questions: {missing[:5]}")
        print(f"## {run['set']}, split={args.split}: {len(questions)} answerable questions")
        for name, count in agreement(questions, judged).items():
            print(f"- {name}: {count}")
        print("\n".join(table(run, questions, judged)))
        printed += 1
    return 0 if printed else 1


if __name__ == "__main__":
    raise SystemExit(main())
