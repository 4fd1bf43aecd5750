"""Another store's FAQ through the chat: a blind set's questions as first messages to the agent.

    .venv/bin/python -m evals.retrieval.chat --set faq4-blind --split dev     # tune here
    .venv/bin/python -m evals.retrieval.chat --set faq4-blind --split test    # report only
    .venv/bin/python -m evals.retrieval.chat --set faq3-blind --split dev --errors

`evals.retrieval.run` scores the search (`kb search`) alone. A customer meets the whole agent:
the message is read first (an order to look up, a request for a person, something off-topic)
and only some readings search the help center. This runs every question of a named Q&A set
(`evals.retrieval.sets`) as the first message of a new conversation with the offline engine, on
a fresh store that has ingested the set's FAQ as `kb ingest` does (the demo help center
retired), and reads what the agent did, as `evals.first_step` does:

- answerable questions: `right` when the reply's first citation is a labelled entry, `wrong`
  when it cites another, `verify` when it asks for an order (or looks one up), `handoff`,
  `out_of_scope`, `no_answer` (an honest "I couldn't find an answer"), `clarify`, `other`;
- unanswerable ones: `honest` when nothing is cited (no answer, out of scope, a question back
  or a handoff), `cited` when the reply quotes an entry anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


async def run(set_name: str, split: str) -> list[dict[str, Any]]:
    from channels.summary import collect, turn_json
    from evals.first_step.run import _VERIFY_LIMITS, _texts, step_of
    from evals.retrieval.sets import named_sets
    from evals.retrieval.systems import labelled_questions
    from evals.scenarios.env import eval_settings
    from services import build_services

    eval_set = named_sets()[set_name]
    if eval_set.corpus is None:
        raise SystemExit(f"{set_name} has no corpus of its own (the demo help center)")
    questions = [q for q in labelled_questions(eval_set) if split == "all" or q.split == split]
    texts = _texts()
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="faq-chat-") as tmp:
        settings = eval_settings(Path(tmp), **_VERIFY_LIMITS, **dict(eval_set.settings))
        services = await build_services(settings)
        try:
            await asyncio.to_thread(services.knowledge.ingest, [eval_set.corpus])
            for q in questions:
                result = await collect(services.runner.run_turn(text=q.question, channel="eval"))
                data = turn_json(result)
                step = step_of(data, texts)
                cited = [f"{c['id'].split('#')[0]}|{c['title']}" for c in data["citations"]]
                out.append(
                    {
                        "id": q.id,
                        "question": q.question,
                        "answerable": q.answerable,
                        "outcome": outcome(q.answerable, step, cited, set(q.relevant), data),
                        "step": step,
                        "cited": cited[:1],
                        "reply": data["reply"],
                    }
                )
        finally:
            await services.close()
    return out


def outcome(
    answerable: bool, step: str, cited: list[str], relevant: set[str], data: dict[str, Any]
) -> str:
    if not answerable:
        return "cited" if cited else "honest"
    if cited:
        return "right" if cited[0] in relevant else "wrong"
    if step == "other" and "couldn't find" in data["reply"]:
        return "no_answer"
    return step.split("+")[0]


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in results if r["answerable"]]
    unanswerable = [r for r in results if not r["answerable"]]
    counts = Counter(r["outcome"] for r in answerable)
    honest = sum(r["outcome"] == "honest" for r in unanswerable)
    return {
        "answerable": len(answerable),
        "right": round(counts["right"] / len(answerable), 4) if answerable else None,
        # asking for the order is the right first step for some ("how do I return this?")
        "right_or_asked_order": (
            round((counts["right"] + counts["verify"]) / len(answerable), 4) if answerable else None
        ),
        "outcomes": dict(counts.most_common()),
        "unanswerable": len(unanswerable),
        "honest_on_unanswerable": round(honest / len(unanswerable), 4) if unanswerable else None,
    }


def main(argv: list[str] | None = None) -> int:
    from evals.retrieval.sets import named_sets

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="set_name", choices=list(named_sets()), required=True)
    parser.add_argument("--split", choices=["dev", "test", "all"], default="dev")
    parser.add_argument("--errors", action="store_true", help="list every miss")
    parser.add_argument("--json", type=Path, help="write every result here")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.set_name, args.split))
    print(json.dumps({"set": args.set_name, "split": args.split, **summary(results)}, indent=2))
    if args.errors:
        for r in results:
            if r["outcome"] not in ("right", "honest"):
                print(f"{r['outcome']:>12}  {r['question'][:90]!r}  -> {r['cited'] or r['step']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
