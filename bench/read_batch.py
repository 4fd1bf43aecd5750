"""CPU of reading customers' messages one at a time against many turns at once (the embedder's
batched prefetch, knowledge/embedder.py `MiniLMEmbedder.prefetch`).

    .venv/bin/python -m bench.read_batch                 # 570 distinct messages, 8 at once

bench/load.py's mix repeats a few dozen texts, which the embedder's cache answers after the
first visit, so it cannot show what embedding costs when every customer writes something new.
This reads the held-out intent set's messages (evals/intents/heldout.jsonl: all distinct) as the
engine does — `understand.prefetch`, then `read` — in groups of `--together` concurrent turns,
with a cold cache, and reports process CPU per message for a group of 1 (no batching) and of N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import OrderedDict
from pathlib import Path

from agent.local.intents import IntentClassifier
from agent.local.understand import prefetch, read
from knowledge.embedder import MiniLMEmbedder

HELDOUT = Path(__file__).resolve().parents[1] / "evals" / "intents" / "heldout.jsonl"


async def _turn(text: str, intents: IntentClassifier) -> None:
    await prefetch(text, intents)
    read(text, intents)


async def _run(texts: list[str], intents: IntentClassifier, together: int) -> float:
    embedder = intents.embedder
    embedder._cache = OrderedDict()  # cold: every message is new
    started = time.process_time()
    for i in range(0, len(texts), together):
        await asyncio.gather(*(_turn(t, intents) for t in texts[i : i + together]))
    return (time.process_time() - started) / len(texts) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--together", type=int, default=8, help="turns at once")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    rows = [json.loads(line) for line in HELDOUT.read_text("utf-8").splitlines() if line.strip()]
    texts = list(dict.fromkeys(r["text"] for r in rows))
    intents = IntentClassifier(MiniLMEmbedder())
    intents.warm()
    asyncio.run(_run(texts[:50], intents, 1))  # warm-up
    for n in range(args.rounds):
        alone = asyncio.run(_run(texts, intents, 1))
        batched = asyncio.run(_run(texts, intents, args.together))
        print(
            f"round {n + 1}: {len(texts)} messages, ms CPU per message: one at a time {alone:.2f},"
            f" {args.together} at once {batched:.2f}"
        )


if __name__ == "__main__":
    main()
