"""The agent's first step on customers' first messages, end to end (evals/first_step/).

    .venv/bin/python -m evals.first_step.run --split dev            # tune here
    .venv/bin/python -m evals.first_step.run --split test           # held out: report only
    .venv/bin/python -m evals.first_step.run --split fresh          # the second held-out set
    .venv/bin/python -m evals.first_step.run --split fresh --server http://127.0.0.1:8000
    .venv/bin/python -m evals.first_step.run --split dev --errors   # ... and every miss

`messages.jsonl` holds first messages written blind, by helpers who were given the store's
trade, the request types and a style brief, and never the help center, the intent examples or
the agent's replies. Each row is {"type", "text"}; a row's split is its position within its
type (even: dev, odd: test). The file is not edited after the commit that added it.

Every message opens a new conversation in a freshly generated demo store, with no model key
(the offline engine), through `Runner.run_turn` as the widget's turns go. What the agent did is
read from the turn's result, not from the classifier:

- `handoff`: the conversation went to the team (an escalation, or a human owner);
- `verify`: the agent asked for the order number / email, or looked the order up;
- `cite:<article>`: a help-center answer citing that article;
- `out_of_scope`: the short "I can help with orders, returns…" reply, no citation;
- `offer_handoff`: an offer to pass the conversation to the team ("Shall I pass this…?");
- `clarify`: a question between two readings; `other`: anything else.

A help-center answer that then asks for the order is `cite:<article>+verify`, and is right when
either part is. (The first run read it as `cite:` alone; docs/intents.md has both figures.)

`EXPECTED` below says which steps are right for each request type. It was written before the
first run and is the scoring rule; changing it changes the eval.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MESSAGES = Path(__file__).resolve().parent / "messages.jsonl"
# a second held-out set by another helper (3d6a0a2): every row is "fresh", none tunes anything
FRESH = MESSAGES.with_name("messages_fresh.jsonl")
SPLITS = ["dev", "test", "fresh", "all"]

# the right first steps per request type: a step name, or "cite:" + article stems
EXPECTED: dict[str, set[str]] = {
    "track_order": {"verify"},
    "delivery_problem": {"verify", "handoff", "offer_handoff"},
    "start_return": {"verify"},
    "refund_status": {"verify"},
    "cancel_order": {"verify"},
    "change_order": {"verify"},
    "return_refund_policy": {"cite:returns", "cite:refunds", "cite:exchanges"},
    "shipping_info": {"cite:shipping", "cite:delivery-times", "cite:international-orders"},
    "payment_question": {
        "cite:payment-methods",
        "cite:gift-cards",
        "cite:international-orders",
        "cite:backorders-and-preorders",
    },
    "human_agent": {"handoff", "cite:contact-us"},
    "off_topic": {"out_of_scope"},
    "account_promo": {
        "cite:account-and-privacy",
        "cite:discounts-and-promo-codes",
        "cite:northwind-rewards",
    },
}

_ASKS_ORDER = re.compile(r"order number|email address|postal code|zip code", re.I)
_OFFERS_HANDOFF = re.compile(r"Shall I pass (this|it|the conversation)", re.I)
_ORDER_TOOLS = {"verify_customer", "get_order", "list_orders"}

# beside the scenario evals' limits: many made-up order numbers from one process
_VERIFY_LIMITS = {"verify_failure_limit": 1_000_000, "verify_alert_threshold": 1_000_000}


def _json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def load_rows(split: str, path: Path = MESSAGES) -> list[dict[str, Any]]:
    if split == "fresh":
        return _json_lines(FRESH)
    rows = _json_lines(path)
    seen: Counter[str] = Counter()
    picked = []
    for row in rows:
        index = seen[row["type"]]
        seen[row["type"]] += 1
        if split == "all" or (split == "dev") == (index % 2 == 0):
            picked.append(row)
    return picked


def step_of(data: dict[str, Any], texts: dict[str, str]) -> str:
    """The agent's first step, read off a turn's JSON (channels.summary.turn_json)."""
    names = {t["name"] for t in data["tool_calls"]}
    if data["escalation"] is not None or data["owner"] != "bot" or "escalate_to_human" in names:
        return "handoff"
    if names & _ORDER_TOOLS:
        return "verify"
    reply = data["reply"]
    if data["citations"]:
        cited = "cite:" + data["citations"][0]["id"].split(".md")[0].split("#")[0]
        # an answer that then asks for the order ("…send me its order number") took both steps
        return f"{cited}+verify" if _ASKS_ORDER.search(reply.split("Source:")[-1]) else cited
    if reply.startswith((texts["out_of_scope"], texts["off_topic"])):
        return "out_of_scope"
    if _ASKS_ORDER.search(reply) and "?" in reply:
        return "verify"
    if reply.startswith(texts["clarify"]):
        return "clarify"
    if _OFFERS_HANDOFF.search(reply):
        return "offer_handoff"
    return "other"


async def collect_steps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from channels.summary import collect, turn_json
    from evals.scenarios.env import eval_settings
    from services import build_services

    texts = _texts()
    out = []
    with tempfile.TemporaryDirectory(prefix="first-step-") as tmp:
        services = await build_services(eval_settings(Path(tmp), **_VERIFY_LIMITS))
        try:
            for row in rows:
                result = await collect(services.runner.run_turn(text=row["text"], channel="eval"))
                data = turn_json(result)
                out.append({**row, "step": step_of(data, texts), "reply": data["reply"]})
        finally:
            await services.close()
    return out


def is_right(result: dict[str, Any]) -> bool:
    return bool(set(result["step"].split("+")) & EXPECTED[result["type"]])


def tally(rows: list[tuple[str, str, bool]], label: str) -> tuple[int, dict[str, Any]]:
    """Over (request type, what was found, right?) rows: how many were right, and per type its
    count, share right and the found values under `label` (most common first)."""
    found: dict[str, Counter[str]] = defaultdict(Counter)
    right: Counter[str] = Counter()
    for kind, value, ok in rows:
        found[kind][value] += 1
        right[kind] += ok
    table = {
        t: {"n": c.total(), "right": round(right[t] / c.total(), 3), label: dict(c.most_common())}
        for t, c in sorted(found.items())
    }
    return sum(right.values()), table


def score(results: list[dict[str, Any]]) -> dict[str, Any]:
    right, by_type = tally([(r["type"], r["step"], is_right(r)) for r in results], "steps")
    n = len(results)
    return {
        "n": n,
        "right_first_step": round(right / n, 4) if n else None,
        "by_type": by_type,
    }


def _texts() -> dict[str, str]:
    from agent.guards_input import safe_replies
    from agent.local.phrases import phrase

    return {
        "out_of_scope": phrase("out_of_scope"),
        "off_topic": safe_replies()["off_topic"],
        "clarify": phrase("clarify", first="", second="").split(",")[0].split(":")[0],
    }


def collect_steps_over_http(rows: list[dict[str, Any]], url: str) -> list[dict[str, Any]]:
    """The same, through a running server's POST /api/chat, as the widget's turns go. Start it
    with the abuse limits lifted (docs/evals.md), or a 429 waits out its Retry-After and the
    escalation limit turns later requests for a person into refusals."""
    import time

    import httpx

    texts, out = _texts(), []
    with httpx.Client(base_url=url.rstrip("/"), timeout=60) as client:
        for row in rows:
            while True:
                response = client.post("/api/chat", json={"text": row["text"]})
                if response.status_code != 429:
                    break
                time.sleep(float(response.headers.get("Retry-After", "1")))
            response.raise_for_status()
            data = response.json()
            out.append({**row, "step": step_of(data, texts), "reply": data["reply"]})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=SPLITS, default="dev")
    parser.add_argument("--errors", action="store_true", help="list every miss")
    parser.add_argument("--json", dest="json_out", type=Path, help="write every result here")
    parser.add_argument("--server", help="a running server's URL: through its POST /api/chat")
    args = parser.parse_args(argv)
    rows = load_rows(args.split)
    results = (
        collect_steps_over_http(rows, args.server)
        if args.server
        else asyncio.run(collect_steps(rows))
    )
    report = score(results)
    print(f"first step, {args.split} split: {report['right_first_step']:.1%} of {report['n']}")
    print(f"{'type':<22} {'n':>3} {'right':>6}  steps")
    for t, row in report["by_type"].items():
        steps = ", ".join(f"{k} {v}" for k, v in row["steps"].items())
        print(f"{t:<22} {row['n']:>3} {row['right']:>6.1%}  {steps}")
    if args.errors:
        for r in results:
            if not is_right(r):
                reply = r["reply"].replace("\n", " ")[:90]
                print(f"{r['type']:>20} -> {r['step']:<28} {r['text']!r}  | {reply}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"report": report, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
