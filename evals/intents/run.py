"""Score intent reading on the blind held-out set (evals/intents/heldout.jsonl).

    .venv/bin/python -m evals.intents.run            # the figures
    .venv/bin/python -m evals.intents.run --errors   # ... and every miss

The set was written by another helper while the examples were written, and is used only for
reported figures, never to tune (tuning is cross-validation on the examples: crossval.py). Each
row is {"text", "intent"} (two requests: "first|second"), with "lang" when not English. A message
is read as the engine reads it: in its language, rules first, then the classifier.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.local.intent_model import OUT_OF_SCOPE
from agent.local.intents import IntentClassifier
from agent.local.understand import language_of, read

HELDOUT = Path(__file__).resolve().parent / "heldout.jsonl"
TWO_REQUESTS = Path(__file__).resolve().parent / "two_requests.txt"  # dev data, for tuning


def load_rows(path: Path = HELDOUT) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def predict(intents: IntentClassifier, row: dict[str, Any]) -> str:
    """The intent (or 'a|b' for two requests) the engine reads in the row's text."""
    text = row["text"]
    language = language_of(text)
    if language != "en":
        return intents.classify(text, language=language).name
    return "|".join(i.name for i in read(text, intents).requests)


def evaluate(intents: IntentClassifier, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    predicted = [predict(intents, r) for r in rows]
    single = [(r, p) for r, p in zip(rows, predicted, strict=True) if "|" not in r["intent"]]
    double = [(r, p) for r, p in zip(rows, predicted, strict=True) if "|" in r["intent"]]
    in_scope = [(r, p) for r, p in single if r["intent"] != OUT_OF_SCOPE]
    oos = [(r, p) for r, p in single if r["intent"] == OUT_OF_SCOPE]
    english = [(r, p) for r, p in single if r.get("lang", "en") == "en"]
    return {
        "n": len(rows),
        "intent_accuracy": _ratio(sum(r["intent"] == p for r, p in single), len(single)),
        "intent_accuracy_english": _ratio(sum(r["intent"] == p for r, p in english), len(english)),
        "oos_recall": _ratio(sum(p == OUT_OF_SCOPE for _, p in oos), len(oos)),
        "in_scope_called_oos": _ratio(sum(p == OUT_OF_SCOPE for _, p in in_scope), len(in_scope)),
        "two_requests_both_read": _ratio(sum(r["intent"] == p for r, p in double), len(double)),
        "errors": [
            {"text": r["text"], "intent": r["intent"], "read": p}
            for r, p in zip(rows, predicted, strict=True)
            if r["intent"] != p
        ],
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    from knowledge.embedder import make_embedder

    report = evaluate(IntentClassifier(make_embedder()), load_rows())
    errors = report.pop("errors")
    print(json.dumps(report, indent=2))
    if args.errors:
        for e in errors:
            print(f"{e['intent']:>28} -> {e['read']:<28} {e['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
