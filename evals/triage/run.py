"""Measure triage on the project-written labelled set.

    .venv/bin/python evals/triage/run.py               # the held-out split (the reported figures)
    .venv/bin/python evals/triage/run.py --json        # the same, as JSON
    .venv/bin/python evals/triage/run.py --cv 5        # 5-fold cross-validation inside train
    .venv/bin/python evals/triage/run.py --cv 5 --errors   # ... listing what it got wrong
    .venv/bin/python evals/triage/run.py --no-intents      # triage's own classifier alone

Triage runs as the server runs it: with the offline engine's intent reader, whose confident
intents set the category. The classifier is trained on the packaged examples (the train split).
`--cv` retrains on
folds of the train split and scores the left-out fold: use it to develop, so the held-out
split stays unseen until the figures are reported.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from helpdesk.triage import (
    CATEGORIES,
    SENTIMENTS,
    URGENCIES,
    Example,
    Triage,
    TriageContext,
    Triager,
)
from helpdesk.triage_intents import IntentReader
from knowledge.types import Embedder

LABELLED = Path(__file__).resolve().parent / "labelled.jsonl"


def load_rows(path: Path = LABELLED) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def context_of(row: dict[str, Any]) -> TriageContext | None:
    raw = row.get("context")
    if not raw:
        return None
    value = raw.get("order_value")
    return TriageContext(
        order_value=Decimal(str(value)) if value is not None else None,
        vip=bool(raw.get("vip", False)),
        prior_contacts_7d=int(raw.get("prior_contacts_7d", 0)),
        misunderstandings=int(raw.get("misunderstandings", 0)),
    )


def predict(triager: Triager, rows: Sequence[dict[str, Any]]) -> list[Triage]:
    return triager.triage_many([r["text"] for r in rows], [context_of(r) for r in rows])


def score(rows: Sequence[dict[str, Any]], verdicts: Sequence[Triage]) -> dict[str, Any]:
    """Accuracy per category and overall, urgency confusion, sentiment and language accuracy."""
    pairs = list(zip(rows, verdicts, strict=True))
    n = len(pairs)
    per_category = {}
    for category in CATEGORIES:
        gold = [(r, v) for r, v in pairs if r["category"] == category]
        predicted = [v for _, v in pairs if v.category == category]
        hits = sum(v.category == category for _, v in gold)
        per_category[category] = {
            "n": len(gold),
            "accuracy": _ratio(hits, len(gold)),
            "precision": _ratio(hits, len(predicted)),
        }
    confusion = {g: dict.fromkeys(URGENCIES, 0) for g in URGENCIES}
    for r, v in pairs:
        confusion[r["urgency"]][v.urgency] += 1
    non_english = [(r, v) for r, v in pairs if r["language"] != "en"]
    return {
        "n": n,
        "category_accuracy": _ratio(sum(r["category"] == v.category for r, v in pairs), n),
        "category_accuracy_non_english": _ratio(
            sum(r["category"] == v.category for r, v in non_english), len(non_english)
        ),
        "per_category": per_category,
        "urgency_accuracy": _ratio(sum(r["urgency"] == v.urgency for r, v in pairs), n),
        "urgency_confusion": confusion,
        "sentiment_accuracy": _ratio(sum(r["sentiment"] == v.sentiment for r, v in pairs), n),
        "sentiment_confusion": {
            g: dict(Counter(v.sentiment for r, v in pairs if r["sentiment"] == g))
            for g in SENTIMENTS
        },
        "language_accuracy": _ratio(sum(r["language"] == v.language for r, v in pairs), n),
    }


def intent_reader(embedder: Embedder) -> IntentReader:
    from agent.local.intents import IntentClassifier

    return IntentClassifier(embedder)


def evaluate(
    embedder: Embedder, rows: Sequence[dict[str, Any]], *, intents: bool = True
) -> dict[str, Any]:
    """Score the packaged triager on `rows` (with the engine's intent reader unless told not)."""
    reader = intent_reader(embedder) if intents else None
    return score(rows, predict(Triager(embedder, intents=reader), rows))


class _MemoEmbedder:
    """Embeds each distinct text once: cross-validation sees every train text K-1 times."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.dimension = inner.dimension
        # the intent reader picks its calibration by the embedder's vector space
        self.space = getattr(inner, "space", None)
        self._memo: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            self._memo.update(zip(missing, self.inner.embed(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])


def cross_validate(
    embedder: Embedder, rows: Sequence[dict[str, Any]], folds: int, *, intents: bool = True
) -> tuple[list[dict[str, Any]], list[Triage]]:
    """Train on all but one fold of `rows`, predict that fold; every row is predicted once."""
    scored_rows: list[dict[str, Any]] = []
    verdicts: list[Triage] = []
    memo = _MemoEmbedder(embedder)
    reader = intent_reader(memo) if intents else None
    for k in range(folds):
        test = [r for i, r in enumerate(rows) if i % folds == k]
        train = [
            Example(r["text"], r["category"], r["sentiment"])
            for i, r in enumerate(rows)
            if i % folds != k
        ]
        scored_rows.extend(test)
        verdicts.extend(predict(Triager(memo, intents=reader, examples=train), test))
    return scored_rows, verdicts


def format_report(report: dict[str, Any], title: str) -> str:
    lines = [f"{title}: {report['n']} messages", ""]
    lines.append(f"{'category':<18} {'n':>4} {'accuracy':>9} {'precision':>10}")
    for category, s in report["per_category"].items():
        lines.append(
            f"{category:<18} {s['n']:>4} {_pct(s['accuracy']):>9} {_pct(s['precision']):>10}"
        )
    lines += [
        "",
        f"category accuracy   {_pct(report['category_accuracy'])}"
        f"  (non-English: {_pct(report['category_accuracy_non_english'])})",
        f"urgency accuracy    {_pct(report['urgency_accuracy'])}",
        f"sentiment accuracy  {_pct(report['sentiment_accuracy'])}",
        f"language accuracy   {_pct(report['language_accuracy'])}",
        "",
        "urgency confusion (rows: labelled, columns: predicted)",
        f"{'':<8}" + "".join(f"{u:>8}" for u in URGENCIES),
    ]
    for gold, row in report["urgency_confusion"].items():
        lines.append(f"{gold:<8}" + "".join(f"{row[u]:>8}" for u in URGENCIES))
    return "\n".join(lines)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["heldout", "train", "all"], default="heldout")
    parser.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validation in train")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--errors", action="store_true", help="list misclassified messages")
    parser.add_argument(
        "--no-intents", action="store_true", help="triage's own category classifier alone"
    )
    args = parser.parse_args(argv)

    from knowledge.embedder import make_embedder

    embedder = make_embedder()
    rows = load_rows()
    if args.cv:
        train = [r for r in rows if r["split"] == "train"]
        scored_rows, verdicts = cross_validate(
            embedder, train, args.cv, intents=not args.no_intents
        )
        title = f"{args.cv}-fold cross-validation on the train split"
    else:
        scored_rows = [r for r in rows if args.split == "all" or r["split"] == args.split]
        reader = None if args.no_intents else intent_reader(embedder)
        verdicts = predict(Triager(embedder, intents=reader), scored_rows)
        title = f"split {args.split}"
    report = score(scored_rows, verdicts)
    out = json.dumps(report, indent=2) if args.json else format_report(report, title)
    sys.stdout.write(out + "\n")
    if args.errors:
        for r, v in zip(scored_rows, verdicts, strict=True):
            wrong = [
                f"{field} {r[field]}->{getattr(v, field)}"
                for field in ("category", "urgency", "sentiment", "language")
                if r[field] != getattr(v, field)
            ]
            if wrong:
                sys.stdout.write(f"{r['id']}  {'; '.join(wrong)}  | {r['text']}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
