"""bench/load.py against the real product on loopback (uvicorn in a thread of this process,
the demo store and help center): three customers, a bounded number of turns; the report's
counts must add up and match what the server counted. Timings are never asserted."""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.load import parser, run
from bench.load_mix import TURN_SHARES, cycle_shares
from bench.load_report import markdown, percentile
from settings import Settings
from tests.conftest import free_port

RAISED = {  # as bench/load_server.py raises them for a spawned server
    "ws_connections_per_ip_per_min": 100_000,
    "ws_open_per_ip": 100_000,
    "messages_per_ip_per_min": 100_000,
}


@pytest.fixture(scope="module")
def bench_server(demo_data_dir: Path, embedder: Any, triager: Any) -> Iterator[str]:
    """The product served by uvicorn on a free port, with the per-IP limits raised."""
    import uvicorn

    from server import create_app
    from services import build_services

    settings = Settings(env="test", data_dir=demo_data_dir, demo=True, **RAISED)
    port = free_port()
    holder: dict[str, Any] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        try:
            services = loop.run_until_complete(
                build_services(settings, embedder=embedder, triager=triager)
            )
            config = uvicorn.Config(
                create_app(settings, services), host="127.0.0.1", port=port, log_level="warning"
            )
            holder["server"] = server = uvicorn.Server(config)
            loop.run_until_complete(server.serve())
            loop.run_until_complete(services.close())
        except BaseException as exc:
            holder["error"] = exc
        finally:
            loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300
    while not getattr(holder.get("server"), "started", False):
        if "error" in holder or not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the bench server did not start: {holder.get('error')!r}")
        time.sleep(0.05)
    yield f"ws://127.0.0.1:{port}/ws/chat"
    holder["server"].should_exit = True
    thread.join(timeout=30)


def args_for(url: str, data_dir: Path, *extra: str) -> argparse.Namespace:
    return parser().parse_args(
        ["--url", url, "--data-dir", str(data_dir), "--server-pid", str(os.getpid()), *extra]
    )


def test_realistic_run_counts_add_up(bench_server: str, demo_data_dir: Path) -> None:
    report = run(
        args_for(
            bench_server,
            demo_data_dir,
            "realistic",
            "--conversations",
            "3",
            "--duration",
            "60",
            "--max-turns",
            "12",
            "--pause",
            "0.05",
            "0.1",
        )  # fmt: skip
    )
    assert report["errors"] == 0, report["all"]["errors_by_cause"]
    assert report["turns"] == 12
    assert sum(row["count"] for row in report["by_kind"].values()) == 12
    assert set(report["by_kind"]) <= set(TURN_SHARES)
    assert report["visits"] >= 3  # each customer opened a conversation
    assert report["server_turns"] == 12  # GET /metrics saw every one of them
    assert report["server_cpu_s"] is not None and report["server_processes"] == 1
    table = markdown(report)
    assert "| **all** | 12 |" in table and "turns the server counted: 12" in table


def test_idle_sockets_are_held_and_answer(bench_server: str, demo_data_dir: Path) -> None:
    report = run(args_for(bench_server, demo_data_dir, "idle", "--sockets", "5", "--hold", "0.5"))
    assert report["sockets_open"] == 5 and report["sockets_failed"] == 0
    assert report["pongs"] == 5
    assert report["rss_mb_before"] > 0 and report["rss_mb_after"] > 0


def test_the_stated_mix_is_the_scripts_mix() -> None:
    shares = cycle_shares()
    assert shares.keys() == TURN_SHARES.keys()
    for kind, share in TURN_SHARES.items():
        assert shares[kind] == pytest.approx(share)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95
    assert percentile(values, 99) == 99 and percentile([7.0], 99) == 7.0


def test_cpu_per_turn_by_kind_counts_every_turn(bench_server: str, demo_data_dir: Path) -> None:
    """bench/turn_cpu.py: one customer at a time, each turn's server CPU from the threads'
    schedstat; every turn of the counted visits lands in its kind."""
    from bench.load_server import attach
    from bench.turn_cpu import cpu_ns, markdown, measure

    server = attach(bench_server, demo_data_dir, os.getpid())
    before = cpu_ns(server)
    report = asyncio.run(measure(server, visits=3, warmup=1, seed=11))
    assert cpu_ns(server) > before  # this process's threads did the serving
    assert report["failed"] == {}
    # the cycle starts faq (warm-up), order, faq: 3 + 4 turns, then a return visit (5)
    assert report["visits"] == 3 and report["turns"] == 12
    assert {k: v["turns"] for k, v in report["kinds"].items()} == {
        "order_ask": 1,
        "order_verify": 1,
        "thanks": 2,
        "greeting": 1,
        "faq": 2,
        "return": 5,
    }
    assert all(v["mean_ms"] > 0 for v in report["kinds"].values())
    assert "| return | 5 |" in markdown(report)
