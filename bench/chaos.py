"""Chaos: workers SIGKILLed under load, and nothing acknowledged may be lost.

    .venv/bin/python -m bench.chaos                       # 200 conversations, 10+ kills
    .venv/bin/python -m bench.chaos --conversations 10 --min-kills 2 --json
    .venv/bin/python -m bench.chaos --server-kill-at 5    # also kill the whole server once

Starts `support-agent serve --workers 2` (the demo store) on a fresh PostgreSQL database (made
and dropped here, 127.0.0.1:5432, trust auth), Redis and a fresh data dir, with the per-IP
limits raised (bench/load_server.py) and SUPPORT_HELPDESK=webhook pointing at a sink on loopback
(bench/chaos_sink.py). Then runs the scripted conversations (bench/chaos_scripts.py) with
clients that reconnect, resume and resend (bench/chaos_client.py) while one worker at a time is
SIGKILLed (bench/chaos_killer.py; uvicorn's supervisor starts the replacement). At the end it
waits for the outbox to drain and checks the stores (bench/chaos_checks.py). Exits 1 when a
check fails. Only 127.0.0.1 is ever contacted; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from bench.chaos_checks import database_facts, run_checks, store_returns
from bench.chaos_client import Customer, Ledger
from bench.chaos_killer import Killer
from bench.chaos_report import markdown, report
from bench.chaos_scripts import Staff, plan, run_script
from bench.chaos_sink import WebhookSink
from bench.load_mix import load_orders, returnable
from bench.load_server import Server, spawn

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
AUTO_APPROVED_MAX = 250.0  # the demo policy sends dearer returns to staff (commerce/demo)


class Run:
    """One chaos run: the database, the sink, the server (respawned after a whole-server kill)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.db_name = f"chaos_{secrets.token_hex(4)}"
        self.admin_url = args.admin_url
        self.db_url = self.admin_url.rsplit("/", 1)[0] + "/" + self.db_name
        self.sink = WebhookSink(secret=secrets.token_urlsafe(24))
        self.staff_token = secrets.token_urlsafe(32)
        self.data_dir = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
        self.log = Path(args.log or self.data_dir.with_suffix(".log"))
        self.port = _free_port()
        self.stack = contextlib.ExitStack()
        self.server: Server | None = None
        self.started = time.monotonic()
        self.killer = Killer(
            self.supervisor, self.port, self.started, tuple(args.every), keep_one=not args.outages
        )

    def supervisor(self) -> int:
        assert self.server is not None
        return self.server.root_pids[0]

    def env(self) -> dict[str, str]:
        return {
            "SUPPORT_DATABASE_URL": self.db_url,
            "SUPPORT_REDIS_URL": self.args.redis_url,
            "SUPPORT_DEMO": "true",
            "SUPPORT_HELPDESK": "webhook",
            "SUPPORT_HELPDESK_WEBHOOK_URL": self.sink.url,
            "SUPPORT_HELPDESK_WEBHOOK_SECRET": self.sink.secret,
            "SUPPORT_STAFF_TOKEN": self.staff_token,
            "SUPPORT_SECRET_KEY": secrets.token_urlsafe(32),
            "SUPPORT_OUTBOX_POLL_S": "1",
            "SUPPORT_LOG_LEVEL": "INFO",  # the killer reads uvicorn's startup lines
        }

    async def start_server(self) -> None:
        context = spawn(port=self.port, data_dir=self.data_dir, workers=2, env=self.env(),
                        log=self.log)  # fmt: skip
        self.server = await asyncio.to_thread(self.stack.enter_context, context)

    async def kill_server(self) -> None:
        """SIGKILL the supervisor and its workers at once, then start the server again."""
        killed_at, pid = time.monotonic(), self.supervisor()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        await asyncio.to_thread(self.stack.close)
        self.stack = contextlib.ExitStack()
        try:
            await self.start_server()
            self.killer.record_server_kill(pid, killed_at, time.monotonic())
        except RuntimeError:
            self.killer.record_server_kill(pid, killed_at, None)
            raise

    async def __aenter__(self) -> Run:
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            await admin.close()
        try:
            await self.sink.start()
            await self.start_server()
        except BaseException:
            await self.__aexit__()  # a server that never came up leaves no database behind
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stack.close)
        await self.sink.stop()
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        finally:
            await admin.close()
        if not self.args.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)


async def fleet(run: Run, orders: list[dict[str, Any]]) -> list[Ledger]:
    args, rng = run.args, random.Random(run.args.seed)
    assert run.server is not None
    # returns that execute on the customer's yes: under the approval cap, and from customers with
    # no return yet (the policy sends a customer's 4th return in 90 days to staff review)
    returned = {o.get("email") for o in orders if o.get("returns")}
    returns = [
        o
        for o in returnable(orders)
        if float(o["items"][0]["price"]) <= AUTO_APPROVED_MAX and o.get("email") not in returned
    ]
    rng.shuffle(returns)
    known = [o for o in orders if o.get("email") and o["status"] != "pending_payment"]
    kinds = plan(args.conversations, len(returns))
    staff = Staff(run.server.base, run.staff_token, deadline_s=args.conversation_timeout)
    gate = asyncio.Semaphore(args.concurrency)
    ledgers = [Ledger(i, kind) for i, kind in enumerate(kinds)]

    async def one(ledger: Ledger) -> None:
        order = returns.pop() if ledger.kind == "return" else rng.choice(known)
        await asyncio.sleep(args.spread * ledger.index / max(1, len(ledgers)))
        async with gate:
            customer = Customer(
                run.server.url if run.server else "",
                ledger,
                deadline=time.monotonic() + args.conversation_timeout,
                turn_timeout=args.turn_timeout,
                rng=random.Random(args.seed * 1000 + ledger.index),
            )
            await run_script(customer, staff, order, pause=tuple(args.pause))

    try:
        await asyncio.wait_for(asyncio.gather(*(one(led) for led in ledgers)), args.max_seconds)
    except TimeoutError:
        pass  # the conversations cut short stay incomplete, and the checks say so
    finally:
        await staff.aclose()
    return ledgers


async def drain(run: Run, limit_s: float) -> float:
    """Seconds until no outbox row is pending or being delivered (or the timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        facts = await database_facts(run.db_url)
        if not {"pending", "delivering"} & set(facts["outbox"]):
            break
        await asyncio.sleep(2)
    return round(time.monotonic() - started, 1)


async def chaos(args: argparse.Namespace) -> dict[str, Any]:
    loopback_only(args.admin_url, args.redis_url)
    async with Run(args) as run:
        killer = run.killer
        if args.server_kill_at is not None:
            killer.server_kill, killer.server_kill_at = run.kill_server, args.server_kill_at
        # read before the chaos starts: the command takes a while on a busy machine
        orders = await asyncio.to_thread(load_orders, run.data_dir, limit=2000)
        stop = asyncio.Event()
        run.started = killer.started = time.monotonic()
        killing = asyncio.create_task(killer.run(stop, max_kills=args.max_kills))
        try:
            ledgers = await fleet(run, orders)
        finally:
            stop.set()
            await killing
        chaos_s = round(time.monotonic() - run.started, 1)
        exited = not _alive(run.supervisor())
        if not exited:
            await killer.wait_ready(asyncio.Event(), count=2)  # the outbox needs a live worker
        drained_s = 0.0 if exited else await drain(run, args.drain_timeout)
        facts = await database_facts(run.db_url)
        returns = store_returns(run.data_dir / "demo_store.db")
        checks = run_checks(
            ledgers,
            facts,
            returns,
            run.sink,
            kills=len(killer.kills),
            min_kills=args.min_kills,
            not_restarted=killer.not_restarted,
            server_exited=exited,
        )
        return report(
            args, ledgers, killer.kills, run.sink, checks, log=run.log, chaos_s=chaos_s,
            drained_s=drained_s, outbox=facts["outbox"], not_restarted=killer.not_restarted,
        )  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--conversations", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--min-kills", type=int, default=10, help="fewer worker kills fail the run")
    p.add_argument("--max-kills", type=int, help="stop killing after this many")
    p.add_argument("--every", type=float, nargs=2, default=[3.0, 8.0], metavar=("MIN", "MAX"),
                   help="seconds between kills (then a serving worker is chosen)")  # fmt: skip
    p.add_argument(
        "--outages", action="store_true", help="also kill the last serving worker (an outage)"
    )
    p.add_argument("--server-kill-at", type=int, help="the Nth kill is the whole server")
    p.add_argument("--pause", type=float, nargs=2, default=[1.0, 4.0], metavar=("MIN", "MAX"),
                   help="seconds a customer takes to answer")  # fmt: skip
    p.add_argument("--spread", type=float, default=0.0, help="conversation starts spread over S")
    p.add_argument("--turn-timeout", type=float, default=120.0)
    p.add_argument("--conversation-timeout", type=float, default=900.0)
    p.add_argument("--max-seconds", type=float, default=3600.0, help="the whole fleet's bound")
    p.add_argument("--drain-timeout", type=float, default=400.0)
    p.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL to create the database on")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--log", help="the server's log file (default: beside the data dir)")
    p.add_argument("--keep", action="store_true", help="keep the data dir")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--json", action="store_true")
    return p


def loopback_only(*urls: str) -> None:
    """The harness kills and floods what it drives: never anything off this machine."""
    for url in urls:
        host = urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"bench/chaos.py only uses services on 127.0.0.1, not {host!r}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    loopback_only(args.admin_url, args.redis_url)
    result = asyncio.run(chaos(args))
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
