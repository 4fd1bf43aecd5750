"""Load through the real server: a fleet of WebSocket customers on loopback.

    .venv/bin/python -m bench.load realistic --spawn --conversations 50 --duration 60
    .venv/bin/python -m bench.load saturation --spawn --conversations 20 --duration 30
    .venv/bin/python -m bench.load idle --spawn --sockets 1000 --hold 10
    .venv/bin/python -m bench.load soak --spawn --conversations 100 --minutes 10
    .venv/bin/python -m bench.load saturation --spawn --workers 2 \\
        --database-url postgresql://postgres@127.0.0.1:5432/test --redis-url redis://127.0.0.1:6379/0
    .venv/bin/python -m bench.load realistic --url ws://127.0.0.1:8000/ws/chat --data-dir DIR

Modes: `realistic` (N customers, each sending its next message U(2,6) s after the last one, for
a bounded time), `saturation` (M customers with no pause), `idle` (K sockets that say nothing:
the server's RSS before and after), `soak` (realistic for D minutes, the RSS sampled every 30 s).
The message mix is fixed in bench/load_mix.py. Latency is from sending a `message` frame to the
server's final `message` frame for it. Server CPU and RSS come from /proc, summed over all of
its processes (with `--url`: the processes that hold the listening socket, or `--server-pid`).

`--spawn` starts `support-agent serve` with a fresh data dir (or `--data-dir`) and raises the
per-IP limits (bench/load_server.py BENCH_LIMITS), since every customer comes from 127.0.0.1.
A server given by `--url` must have been started with those limits raised by hand, or the fleet
is refused after a few dozen turns (errors `error:rate_limited`, `connect:http_429`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.load_client import Fleet, hold_idle, ping_all
from bench.load_mix import TURN_SHARES, Mix, load_orders
from bench.load_report import markdown, summarize
from bench.load_server import Server, attach, spawn

DEFAULTS = {  # conversations, seconds
    "realistic": (50, 60.0),
    "saturation": (20, 30.0),
    "soak": (100, 600.0),
}
GRACE_S = 30.0  # past the deadline and the turn timeout, the run is cut


def server_turns(server: Server) -> float | None:
    """Bot turns the server counted (GET /metrics), or None when it does not say."""
    try:
        response = httpx.get(server.base + "/metrics", timeout=10)
    except httpx.TransportError:
        return None
    if response.status_code != 200:
        return None
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "support_turn_seconds_count"
    )


async def run_fleet(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    conversations, duration = DEFAULTS[args.mode]
    conversations = args.conversations or conversations
    duration = args.minutes * 60 if args.mode == "soak" and args.minutes else duration
    duration = args.duration or duration
    pause = None if args.mode == "saturation" else tuple(args.pause)
    assert server.data_dir is not None
    mix = Mix(await asyncio.to_thread(load_orders, server.data_dir), seed=args.seed)
    turns_before = await asyncio.to_thread(server_turns, server)
    rss_before, cpu_before, started = server.rss_mb(), server.cpu_seconds(), time.monotonic()
    fleet = Fleet(
        server.url,
        mix,
        deadline=started + duration,
        max_turns=args.max_turns,
        pause=pause,  # type: ignore[arg-type]
        turn_timeout=args.turn_timeout,
        seed=args.seed,
    )
    samples: list[dict[str, float]] = [{"t_s": 0.0, "rss_mb": round(rss_before, 1)}]
    sampler = asyncio.create_task(_sample_rss(server, started, args.sample_every, samples))
    customers = [
        fleet.customer(i, stagger=pause[1] if pause else 0.0) for i in range(conversations)
    ]
    try:
        await asyncio.wait_for(asyncio.gather(*customers), duration + args.turn_timeout + GRACE_S)
    except TimeoutError:
        pass  # the records so far stand; the cut turns never finished
    finally:
        sampler.cancel()
    elapsed = time.monotonic() - started
    cpu = server.cpu_seconds() - cpu_before if server.root_pids else None
    turns_after = await asyncio.to_thread(server_turns, server)
    extra: dict[str, Any] = {
        "visits": fleet.visits,
        "conversations": conversations,
        "duration_s": duration,
        "pause_s": list(pause) if pause else None,
        "mix": {k: round(v, 3) for k, v in TURN_SHARES.items()},
        "server_processes": len(server.pids()),
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_after": round(server.rss_mb(), 1),
        "server_turns": (
            turns_after - turns_before
            if turns_after is not None and turns_before is not None
            else None
        ),
    }
    if args.mode == "soak":
        samples.append({"t_s": round(elapsed, 1), "rss_mb": round(server.rss_mb(), 1)})
        extra["rss_samples"] = samples
        extra["rss_growth_pct"] = _growth(samples)
    return summarize(fleet.records, elapsed_s=elapsed, cpu_s=cpu, extra=extra)


async def _sample_rss(
    server: Server, started: float, every: float, into: list[dict[str, float]]
) -> None:
    while True:
        await asyncio.sleep(every)
        now = round(time.monotonic() - started, 1)
        into.append({"t_s": now, "rss_mb": round(server.rss_mb(), 1)})


def _growth(samples: list[dict[str, float]]) -> float | None:
    """From the first sample under load (the one at t=0 is before any turn) to the last."""
    under_load = samples[1:]
    if len(under_load) < 2 or not under_load[0]["rss_mb"]:
        return None
    first, last = under_load[0]["rss_mb"], under_load[-1]["rss_mb"]
    return round((last - first) / first * 100, 1)


async def run_idle(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    before = server.rss_mb()
    opened, failures = await hold_idle(server.url, args.sockets, wait_s=args.turn_timeout)
    try:
        await asyncio.sleep(args.hold)
        after = server.rss_mb()
        pongs = await ping_all(opened, wait_s=args.turn_timeout)
    finally:
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
    extra_mb = after - before
    return {
        "sockets_open": len(opened),
        "sockets_failed": sum(failures.values()),
        "failures_by_cause": failures,
        "pongs": pongs,
        "hold_s": args.hold,
        "server_processes": len(server.pids()),
        "rss_mb_before": round(before, 1),
        "rss_mb_after": round(after, 1),
        "extra_mb": round(extra_mb, 1),
        "kb_per_socket": round(extra_mb * 1024 / len(opened), 1) if opened else None,
    }


def _raise_fd_limit() -> None:
    """A thousand sockets need a thousand descriptors on each side."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    _raise_fd_limit()
    drive = run_idle if args.mode == "idle" else run_fleet
    title = (
        f"{'spawned' if args.spawn else args.url}, workers {args.workers or 1}, "
        f"database {'PostgreSQL' if args.database_url else 'SQLite (or the server default)'}"
        f"{', Redis' if args.redis_url else ''}"
    )
    if args.spawn:
        env = dict(item.split("=", 1) for item in args.server_env)
        if args.database_url:
            env["SUPPORT_DATABASE_URL"] = args.database_url
        if args.redis_url:
            env["SUPPORT_REDIS_URL"] = args.redis_url
        log = Path(args.log or tempfile.mkstemp(prefix="bench-load-", suffix=".log")[1])
        with spawn(
            port=args.port or _free_port(),
            data_dir=args.data_dir,
            workers=args.workers,
            env=env,
            log=log,
        ) as server:
            report = asyncio.run(drive(server, args))
        report["server_log"] = str(log)
    else:
        data_dir = args.data_dir or Path(os.environ.get("SUPPORT_DATA_DIR", ".support-data"))
        server = attach(args.url, data_dir.resolve(), args.server_pid)
        report = asyncio.run(drive(server, args))
    report["mode"], report["title"] = args.mode, title
    return report


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("mode", choices=["realistic", "saturation", "idle", "soak"])
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="ws://127.0.0.1:PORT/ws/chat of a running server")
    target.add_argument("--spawn", action="store_true", help="start support-agent serve")
    p.add_argument("--data-dir", type=Path, help="the server's data dir (--url) or one to reuse")
    p.add_argument("--server-pid", type=int, help="with --url: the server's (master) process")
    p.add_argument("--port", type=int, help="with --spawn (default: a free one)")
    p.add_argument("--workers", type=int, help="with --spawn: serve --workers N")
    p.add_argument("--database-url", help="with --spawn: SUPPORT_DATABASE_URL")
    p.add_argument("--redis-url", help="with --spawn: SUPPORT_REDIS_URL")
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--log", help="with --spawn: the server's log file")
    p.add_argument("--conversations", type=int, help="customers at once (50/20/100)")
    p.add_argument("--duration", type=float, help="seconds (realistic 60, saturation 30)")
    p.add_argument("--minutes", type=float, help="soak: minutes (10)")
    p.add_argument("--sample-every", type=float, default=30.0, help="soak: RSS sample seconds")
    p.add_argument("--pause", type=float, nargs=2, default=[2.0, 6.0], metavar=("MIN", "MAX"))
    p.add_argument("--max-turns", type=int, help="stop starting turns after this many")
    p.add_argument("--turn-timeout", type=float, default=30.0)
    p.add_argument("--sockets", type=int, default=1000, help="idle: sockets to hold")
    p.add_argument("--hold", type=float, default=10.0, help="idle: seconds to hold them")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    report = run(args)
    print(json.dumps(report, indent=2) if args.json else markdown(report))


if __name__ == "__main__":
    main()
