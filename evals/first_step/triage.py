"""Triage's category on the blind first messages (evals/first_step/messages.jsonl).

    .venv/bin/python -m evals.first_step.triage --split dev|test [--errors]

The messages were written for the agent's first step, not for triage, by helpers who never saw
triage's examples or categories; that makes them a second, independent check of the category
(triage's own held-out set was written beside its examples). `CATEGORIES` says which of the 16
categories are right for each request type; it was written before the first run. The category
comes from the packaged triager with the engine's intent reader, as `support-agent triage`
does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from evals.first_step.run import SPLITS, load_rows, tally

CATEGORIES: dict[str, set[str]] = {
    "track_order": {"order_status"},
    "delivery_problem": {"delivery_problem"},
    "start_return": {"return_refund", "exchange"},
    "refund_status": {"return_refund"},
    "cancel_order": {"cancellation"},
    "change_order": {"order_change"},
    "return_refund_policy": {"return_refund", "exchange"},
    "shipping_info": {"shipping_policy"},
    "payment_question": {"payment_billing"},
    "human_agent": {"human_request"},
    "off_topic": {"other"},
    "account_promo": {"account", "privacy", "payment_billing", "marketing"},
}


def score(rows: Sequence[dict[str, Any]], categories: Sequence[str]) -> dict[str, Any]:
    found = zip(rows, categories, strict=True)
    right, by_type = tally(
        [(r["type"], c, c in CATEGORIES[r["type"]]) for r, c in found], "categories"
    )
    n = len(rows)
    return {
        "n": n,
        "category_accuracy": round(right / n, 4) if n else None,
        "by_type": by_type,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=SPLITS, default="dev")
    parser.add_argument("--errors", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    from evals.triage.run import intent_reader
    from helpdesk.triage import Triager
    from knowledge.embedder import make_embedder

    embedder = make_embedder()
    rows = load_rows(args.split)
    triager = Triager(embedder, intents=intent_reader(embedder))
    verdicts = triager.triage_many([r["text"] for r in rows], [None] * len(rows))
    categories = [v.category for v in verdicts]
    report = score(rows, categories)
    accuracy = report["category_accuracy"]
    print(f"triage category, {args.split} split: {accuracy:.1%} of {report['n']}")
    for t, row in report["by_type"].items():
        found = ", ".join(f"{k} {v}" for k, v in row["categories"].items())
        print(f"{t:<22} {row['n']:>3} {row['right']:>6.1%}  {found}")
    if args.errors:
        for r, c in zip(rows, categories, strict=True):
            if c not in CATEGORIES[r["type"]]:
                print(f"{r['type']:>20} -> {c:<18} {r['text'][:100]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
