"""300 scripted offline turns through run_turn: order status with verification, help-center
questions, escalations. Prints p50/p95/max server-side latency per turn and the process RSS.

    .venv/bin/python -m bench.turn_latency [--turns 300] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

QUESTIONS = [
    "What is your return policy?",
    "how long does shipping take",
    "do you ship to canada?",
    "when will i get my refund",
    "can I pay with paypal",
    "how do I exchange for another size",
    "what are your hours",
    "is there a warranty on boots",
]


# a benchmark drives many turns from one process: lift the abuse limits (docs/security.md) so
# they never shape the figures
BENCH_LIMITS = {
    "messages_per_ip_per_min": 1_000_000,
    "ws_connections_per_ip_per_min": 1_000_000,
    "ws_open_per_ip": 100_000,
    "escalations_per_client_per_hour": 1_000_000,
    "verify_failure_limit": 1_000_000,
    "verify_alert_threshold": 1_000_000,
}


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(turns: int, data_dir: Path) -> None:
    from channels.summary import collect
    from services import build_services
    from settings import Settings

    started = time.perf_counter()
    services = await build_services(Settings(data_dir=data_dir, demo=True, **BENCH_LIMITS))
    print(f"services ready in {time.perf_counter() - started:.1f} s (store, help center, model)")
    orders = await services.store.list_orders(limit=200)
    scripts: list[list[str]] = []
    i = 0
    while sum(len(s) for s in scripts) < turns:
        order = orders[i % len(orders)]
        kind = i % 4
        if kind in (0, 1):
            scripts.append(["where is my order?", order.number, order.email])
        elif kind == 2:
            scripts.append([QUESTIONS[i % len(QUESTIONS)], QUESTIONS[(i + 3) % len(QUESTIONS)]])
        else:
            scripts.append(["hi", "I want to talk to a person"])
        i += 1

    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    for script in scripts:
        conversation_id = None
        for step, text in enumerate(script):
            if len(latencies) >= turns:
                break
            t0 = time.perf_counter()
            result = await collect(services.runner.run_turn(
                text=text, channel="bench", conversation_id=conversation_id))
            elapsed = (time.perf_counter() - t0) * 1000
            latencies.append(elapsed)
            kind = "+".join(t.name for t in result.tool_calls) or f"reply (step {step + 1})"
            by_kind.setdefault(kind, []).append(elapsed)
            conversation_id = result.conversation_id
    await services.close()
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"turns: {len(latencies)}")
    print(f"latency ms: p50 {p50:.1f}  p95 {p95:.1f}  max {latencies[-1]:.1f}")
    print(f"RSS: {_rss_mb():.0f} MB")
    for kind, values in sorted(by_kind.items()):
        values.sort()
        print(f"  {kind:45s} n={len(values):3d}  p50 {statistics.median(values):6.1f}  "
              f"max {values[-1]:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-turns-"))
    asyncio.run(run(args.turns, data_dir))


if __name__ == "__main__":
    main()
