"""CPU per turn by kind, in process: bench/load_mix.py's visits through `Runner.run_turn`, one
turn at a time, `time.process_time()` (every thread of the process) around each turn.

    .venv/bin/python -m bench.turn_mix --data-dir DIR [--visits 40] [--warmup 4]

DIR is a data dir with the demo store and help center (one a `serve` made); it is written to
(conversations), so give each run its own copy when comparing. The same visits as
bench/turn_cpu.py without the socket: the difference between the two is the server path
(ASGI, frames). Two runs compare only side by side (started together, on copies of one data
dir): on a shared machine the absolute figures drift with the load."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any


async def measure(data_dir: Path, *, visits: int, warmup: int, seed: int) -> dict[str, Any]:
    from bench.load_mix import Mix, load_orders
    from channels.summary import collect
    from services import build_services
    from settings import Settings

    services = await build_services(Settings(data_dir=data_dir, demo=True))
    mix = Mix(await asyncio.to_thread(load_orders, data_dir), seed=seed)
    per_kind: dict[str, list[float]] = {}
    try:
        for number in range(warmup + visits):
            script = mix.next_script()
            conversation_id = None
            for index, turn in enumerate(script.turns):
                started = time.process_time()
                result = await collect(
                    services.runner.run_turn(
                        text=turn.text,
                        channel="web",
                        conversation_id=conversation_id,
                        client_id=f"{number}-{index}-{time.monotonic_ns()}",
                        client_ip="127.0.0.1",
                    )
                )
                spent_ms = (time.process_time() - started) * 1000
                conversation_id = result.conversation_id
                if number >= warmup:
                    per_kind.setdefault(turn.kind, []).append(spent_ms)
    finally:
        await services.close()
    every = [v for values in per_kind.values() for v in values]
    return {
        "turns": len(every),
        "mean_ms": round(statistics.fmean(every), 2) if every else None,
        "kinds": {
            kind: {
                "turns": len(values),
                "mean_ms": round(statistics.fmean(values), 2),
                "p50_ms": round(statistics.median(values), 2),
            }
            for kind, values in sorted(per_kind.items())
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--visits", type=int, default=40)
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    report = asyncio.run(
        measure(args.data_dir, visits=args.visits, warmup=args.warmup, seed=args.seed)
    )
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"CPU per turn in process, {report['turns']} turns, mean {report['mean_ms']} ms")
    print("| kind | turns | mean | p50 |\n|---|---:|---:|---:|")
    for kind, row in report["kinds"].items():
        print(f"| {kind} | {row['turns']} | {row['mean_ms']} ms | {row['p50_ms']} ms |")


if __name__ == "__main__":
    main()
