"""Where a turn's CPU goes, in process: the turn's first transaction, the graph (model and
tools), and the rest (confirmation gate, final transaction, guards), plus the per-IP rate
limit hit a socket message costs before its turn.

    .venv/bin/python -m bench.turn_phases --data-dir DIR [--rounds 12]

DIR is a data dir with the demo store and help center (one a `serve` or `bench.load --spawn
--data-dir DIR` made). Process CPU (time.process_time: every thread, so aiosqlite's and
onnxruntime's count) is read around each phase; turns run one at a time, so the figures are
each turn's own. A sampling profiler misattributes time on this server (py-spy on uvloop put
12 % of the samples in one pydantic constructor that takes 0.1 ms a call), hence this."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

TURNS = [
    ("greeting", "hi"),
    ("faq", "what is your return policy?"),
    ("faq", "how long does shipping take"),
    ("order_ask", "where is my order?"),
    ("thanks", "thanks!"),
]
PHASES = ("turn", "first_txn", "graph", "rest", "gate", "rate_hit")


async def measure(data_dir: Path, rounds: int, warmup: int) -> dict[str, dict[str, float]]:
    import agent.runner as runner_module
    from agent.turns import TurnOrder
    from channels.summary import collect
    from services import build_services
    from settings import Settings

    services = await build_services(Settings(data_dir=data_dir, demo=True))
    now: dict[str, float] = {}

    def timed(name: str, call: Any) -> Any:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return await call(*args, **kwargs)
            finally:
                now[name] = time.process_time() - started

        return wrapper

    until_claimed = TurnOrder.until_claimed
    TurnOrder.until_claimed = timed("first_txn", until_claimed)  # type: ignore[method-assign]
    runner_module.answer_pending = timed("gate", runner_module.answer_pending)
    stream_graph = runner_module.Runner._stream_graph

    async def graph(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        async for event in stream_graph(self, *args, **kwargs):
            yield event
        now["graph"] = time.process_time() - started

    runner_module.Runner._stream_graph = graph  # type: ignore[method-assign]
    found: dict[str, list[dict[str, float]]] = defaultdict(list)
    try:
        for round_ in range(warmup + rounds):
            conversation_id = None
            for kind, text in TURNS:
                now.clear()
                started = time.process_time()
                result = await collect(
                    services.runner.run_turn(
                        text=text,
                        channel="web",
                        conversation_id=conversation_id,
                        client_id=f"{round_}-{kind}-{time.monotonic_ns()}",
                    )
                )
                now["turn"] = time.process_time() - started
                conversation_id = result.conversation_id
                started = time.process_time()
                await services.rates.message("192.0.2.1")
                now["rate_hit"] = time.process_time() - started
                now["rest"] = now["turn"] - now.get("first_txn", 0.0) - now.get("graph", 0.0)
                if round_ >= warmup:
                    found[kind].append(dict(now))
    finally:
        TurnOrder.until_claimed = until_claimed  # type: ignore[method-assign]
        await services.close()
    return {
        kind: {p: round(statistics.fmean(r.get(p, 0.0) for r in rows) * 1000, 1) for p in PHASES}
        for kind, rows in found.items()
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--warmup", type=int, default=2)
    args = p.parse_args()
    report = asyncio.run(measure(args.data_dir, args.rounds, args.warmup))
    print("| kind | " + " | ".join(PHASES) + " |")
    print("|---|" + "---:|" * len(PHASES))
    for kind, row in report.items():
        print(f"| {kind} | " + " | ".join(f"{row[p]} ms" for p in PHASES) + " |")


if __name__ == "__main__":
    main()
