"""The load runs issue #11 asks for, in one command and under 10 minutes, as one Markdown table:
saturation and realistic (200 customers) on 1 worker with SQLite, then the same on 2 workers
with PostgreSQL + Redis.

    bash bench/all.sh                      # starts PostgreSQL and Redis if needed, then this
    .venv/bin/python -m bench.suite [--only sqlite|postgres] [--json]

Each setup spawns one `support-agent serve` (bench/load_server.py, the per-IP limits raised)
for its two runs, saturation first, on one data dir made for the suite: the first start
generates the demo store and embeds the help center (1.5-2 min), the second reuses them. The
two-worker runs use a PostgreSQL database made for the suite and dropped at the end, and Redis
at --redis-url. Run it on a quiet machine: the figures are the machine's as much as the
server's (note the load average the table prints)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import load
from bench.load_server import spawn

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Run:
    name: str
    mode: str
    workers: int
    conversations: int
    duration: float
    postgres: bool
    target: str  # what issue #11 asks of this run
    meets: Any  # report -> bool


def _turns_at_least(rate: float) -> Any:
    return lambda r: r["errors"] == 0 and (r.get("turns_per_s") or 0) >= rate


def _p95_at_most(ms: float) -> Any:
    return lambda r: r["errors"] == 0 and (r["all"].get("p95_ms") or float("inf")) <= ms


RUNS = [
    Run(
        name="saturation, 1 worker, SQLite, 20 customers, 30 s",
        mode="saturation", workers=1, conversations=20, duration=30, postgres=False,
        target="≥ 60 turns/s", meets=_turns_at_least(60),
    ),
    Run(
        name="realistic, 1 worker, SQLite, 200 customers every 2–6 s, 60 s",
        mode="realistic", workers=1, conversations=200, duration=60, postgres=False,
        target="p95 ≤ 250 ms, 0 errors", meets=_p95_at_most(250),
    ),
    Run(
        name="saturation, 2 workers, PostgreSQL + Redis, 40 customers, 30 s",
        mode="saturation", workers=2, conversations=40, duration=30, postgres=True,
        target="≥ 150 turns/s", meets=_turns_at_least(150),
    ),
    Run(
        name="realistic, 2 workers, PostgreSQL + Redis, 200 customers every 2–6 s, 60 s",
        mode="realistic", workers=2, conversations=200, duration=60, postgres=True,
        target="p95 ≤ 250 ms, 0 errors", meets=_p95_at_most(250),
    ),
]  # fmt: skip


async def _database(name: str, *, create: bool) -> None:
    import asyncpg

    admin = await asyncpg.connect(ADMIN_URL)
    try:
        if create:
            await admin.execute(f'CREATE DATABASE "{name}"')
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.contextmanager
def fresh_database(tag: str) -> Iterator[str]:
    name = f"bench_{tag}_{os.getpid()}_{int(time.time())}"
    asyncio.run(_database(name, create=True))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_database(name, create=False))


def run_setup(
    runs: list[Run],
    data_dir: Path,
    redis_url: str,
    log_dir: Path,
    *,
    quick: bool = False,
) -> list[tuple[Run, dict[str, Any]]]:
    """The runs of one setup (workers, database) against one spawned server: a start saved
    per run (a two-worker start on a fresh database costs about a minute)."""
    first = runs[0]
    with contextlib.ExitStack() as stack:
        env: dict[str, str] = {}
        if first.postgres:
            env["SUPPORT_DATABASE_URL"] = stack.enter_context(fresh_database(f"{first.workers}w"))
            env["SUPPORT_REDIS_URL"] = redis_url
        server = stack.enter_context(
            spawn(
                port=load._free_port(),
                data_dir=data_dir,
                workers=first.workers if first.workers > 1 else None,
                env=env,
                log=log_dir / f"server-{first.workers}w.log",
            )
        )
        done = []
        for run in runs:
            print(f"==> {run.name}", flush=True)
            conversations, duration = run.conversations, run.duration
            if quick:
                conversations, duration = min(conversations, 4), 5.0
            argv = [
                run.mode,
                "--url",
                server.url,
                "--data-dir",
                str(data_dir),
                "--server-pid",
                str(server.root_pids[0]),
                "--conversations",
                str(conversations),
                "--duration",
                str(duration),
            ]
            done.append((run, load.run(load.parser().parse_args(argv))))
        return done


def _cell(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if unit == "s":
        return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
    return f"{value:g}"


def table(rows: list[tuple[Run, dict[str, Any]]]) -> str:
    lines = [
        "| run | turns | errors | p50 | p95 | p99 | turns/s | server CPU / turn | target | met |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for run, r in rows:
        causes = ", ".join(f"`{k}` {v}" for k, v in r["all"]["errors_by_cause"].items())
        cpu = r.get("server_cpu_ms_per_turn")
        lines.append(
            f"| {run.name} | {r['turns']} | {r['errors']}{': ' + causes if causes else ''} | "
            f"{_cell(r['all']['p50_ms'], 's')} | {_cell(r['all']['p95_ms'], 's')} | "
            f"{_cell(r['all']['p99_ms'], 's')} | **{_cell(r.get('turns_per_s'))}** | "
            f"{_cell(cpu)}{' ms' if cpu is not None else ''} | {run.target} | "
            f"{'yes' if run.meets(r) else '**no**'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--only", choices=["sqlite", "postgres"], help="one setup's runs only")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--data-dir", type=Path, help="reuse this data dir (kept afterwards)")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument(
        "--quick", action="store_true", help="4 customers for 5 s a run: checks the plumbing only"
    )
    args = p.parse_args(argv)
    runs = [r for r in RUNS if args.only is None or r.postgres == (args.only == "postgres")]
    made = args.data_dir is None
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-suite-"))
    log_dir = Path(tempfile.mkdtemp(prefix="bench-suite-logs-"))
    started, load_before = time.monotonic(), os.getloadavg()
    rows: list[tuple[Run, dict[str, Any]]] = []
    try:
        for postgres in (False, True):
            setup = [r for r in runs if r.postgres == postgres]
            if setup:
                rows += run_setup(setup, data_dir, args.redis_url, log_dir, quick=args.quick)
    finally:
        if made:
            shutil.rmtree(data_dir, ignore_errors=True)
    if args.json:
        print(json.dumps([{"run": run.name, **report} for run, report in rows], indent=2))
        return
    print()
    if args.quick:
        print("**--quick: 4 customers for 5 s per run, a plumbing check; not figures to record**")
    print(table(rows))
    print()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}; "
        f"suite {time.monotonic() - started:.0f} s; server logs in {log_dir}. Per kind of "
        "turn: `.venv/bin/python -m bench.load MODE ...` prints each run's own table."
    )


if __name__ == "__main__":
    main()
