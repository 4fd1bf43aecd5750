"""CPU per turn through the real server, by kind of turn: one customer at a time on loopback,
the CPU time of the server's threads (/proc/PID/task/TID/schedstat, all its processes, in ns)
read before and after each turn.

    .venv/bin/python -m bench.turn_cpu --spawn --data-dir DIR --visits 40
    .venv/bin/python -m bench.turn_cpu --url ws://127.0.0.1:8000/ws/chat --data-dir DIR

Why process CPU and not wall time: the machine this project is measured on is shared, and wall
time there says more about the neighbours than about the server; the CPU the server's processes
were given for one turn is what a turn costs. Turns run one after another, so each turn's CPU is
its own (plus whatever the idle server does meanwhile: the pollers, a few ms a second, counted
in `idle_ms_per_s` and left in). The visits are bench/load_mix.py's, in its fixed cycle; the
first `--warmup` visits are not counted (first-use work: keyword index, caches)."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

from bench.load import _free_port
from bench.load_client import MAX_FRAME, Fleet
from bench.load_mix import Mix, load_orders
from bench.load_server import Server, attach, spawn


def cpu_ns(server: Server) -> int:
    """CPU time of the server's threads, in ns (/proc/PID/task/TID/schedstat): /proc/PID/stat
    counts in clock ticks (10 ms), too coarse for one turn. A thread that has ended is no
    longer counted, so this is read around each turn only."""
    total = 0
    for pid in server.pids():
        tasks = Path(f"/proc/{pid}/task")
        try:
            entries = list(tasks.iterdir())
        except OSError:
            continue
        for task in entries:
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total


async def measure(server: Server, *, visits: int, warmup: int, seed: int) -> dict[str, Any]:
    assert server.data_dir is not None
    mix = Mix(await asyncio.to_thread(load_orders, server.data_dir), seed=seed)
    fleet = Fleet(server.url, mix, deadline=time.monotonic() + 3600)
    idle_cpu = cpu_ns(server)
    await asyncio.sleep(2.0)
    idle_ms_per_s = (cpu_ns(server) - idle_cpu) / 1e6 / 2.0
    per_kind: dict[str, list[float]] = {}
    failed: dict[str, int] = {}
    for number in range(warmup + visits):
        script = mix.next_script()
        async with websockets.connect(server.url, max_size=MAX_FRAME) as ws:
            for index, turn in enumerate(script.turns):
                before = cpu_ns(server)
                record = await fleet._turn(ws, turn.kind, turn.text, f"{script.name}-{index}")
                spent_ms = (cpu_ns(server) - before) / 1e6
                if record.error is not None:
                    failed[record.error] = failed.get(record.error, 0) + 1
                    break
                if number >= warmup:
                    per_kind.setdefault(turn.kind, []).append(spent_ms)
    kinds = {
        kind: {
            "turns": len(values),
            "mean_ms": round(statistics.fmean(values), 1),
            "p50_ms": round(statistics.median(values), 1),
        }
        for kind, values in sorted(per_kind.items())
    }
    every = [v for values in per_kind.values() for v in values]
    return {
        "visits": visits,
        "warmup_visits": warmup,
        "turns": len(every),
        "mean_ms": round(statistics.fmean(every), 1) if every else None,
        "kinds": kinds,
        "failed": failed,
        "idle_ms_per_s": round(idle_ms_per_s, 1),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"server CPU per turn, {report['turns']} turns ({report['visits']} visits after "
        f"{report['warmup_visits']} warm-up), mean {report['mean_ms']} ms; idle server "
        f"{report['idle_ms_per_s']} ms/s; failed {report['failed'] or 0}",
        "",
        "| kind | turns | mean | p50 |",
        "|---|---:|---:|---:|",
    ]
    for kind, row in report["kinds"].items():
        lines.append(f"| {kind} | {row['turns']} | {row['mean_ms']} ms | {row['p50_ms']} ms |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="ws://127.0.0.1:PORT/ws/chat of a running server")
    target.add_argument("--spawn", action="store_true", help="start support-agent serve")
    p.add_argument("--data-dir", type=Path, help="the server's data dir (needed with --url)")
    p.add_argument("--visits", type=int, default=40)
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    def run(server: Server) -> dict[str, Any]:
        return asyncio.run(measure(server, visits=args.visits, warmup=args.warmup, seed=args.seed))

    if args.spawn:
        env = dict(item.split("=", 1) for item in args.server_env)
        log = Path(tempfile.mkstemp(prefix="bench-turn-cpu-", suffix=".log")[1])
        with spawn(
            port=_free_port(), data_dir=args.data_dir, workers=None, env=env, log=log
        ) as server:
            report = run(server)
    else:
        if args.data_dir is None:
            raise SystemExit("--url needs --data-dir (the demo orders are read from it)")
        report = run(attach(args.url, args.data_dir.resolve(), None))
    print(json.dumps(report, indent=2) if args.json else markdown(report))


if __name__ == "__main__":
    main()
