"""The report of bench/chaos.py: the figures of a run as a dict (printed with --json) and as
a Markdown table."""

from __future__ import annotations

import argparse
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.chaos_checks import Check
from bench.chaos_client import Ledger
from bench.chaos_killer import Kill
from bench.chaos_sink import WebhookSink


def report(
    args: argparse.Namespace,
    ledgers: list[Ledger],
    kills: list[Kill],
    sink: WebhookSink,
    checks: list[Check],
    *,
    log: Path,
    **figures: Any,
) -> dict[str, Any]:
    sent = [s for led in ledgers for s in led.messages]
    errors: dict[str, int] = {}
    for led in ledgers:
        for code in led.extra.get("errors", []):
            errors[str(code)] = errors.get(str(code), 0) + 1
    worker_kills = [k for k in kills if k.kind == "worker"]
    restarts = [k.restarted_s for k in worker_kills if k.restarted_s is not None]
    ready = [k.ready_s for k in worker_kills if k.ready_s is not None]
    return {
        "conversations": len(ledgers),
        "concurrency": args.concurrency,
        "kinds": {
            k: sum(led.kind == k for led in ledgers) for k in ("status", "return", "escalation")
        },
        **figures,
        "customer_messages": len(sent),
        "acked": sum(s.acked for s in sent),
        "resent": sum(s.resends for s in sent),
        "messages_resent": sum(s.resends > 0 for s in sent),
        "reconnect_attempts_failed": sum(led.reconnects for led in ledgers),
        "error_frames": errors,
        "returns_confirmed": sum(led.rma is not None for led in ledgers),
        "staff_replies": {
            "live": sum(led.staff_seen == "live" for led in ledgers),
            "history": sum(led.staff_seen == "history" for led in ledgers),
        },
        "kills": [asdict(k) for k in kills],
        "worker_restart_s": _spread(restarts),
        "worker_ready_s": _spread(ready),
        "sink_deliveries": len(sink.deliveries),
        # workers uvicorn's supervisor found dead, besides the ones we killed (its health check)
        "worker_deaths_not_ours": _deaths(log) - len(worker_kills),
        "checks": [asdict(c) for c in checks],
        "ok": all(c.ok for c in checks),
        "server_log": str(log),
    }


def _deaths(log: Path) -> int:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return 0
    return sum('"Child process' in line and 'died"' in line for line in lines)


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def markdown(r: dict[str, Any]) -> str:
    kills = r["kills"]
    lines = [
        f"Chaos: {r['conversations']} conversations ({r['kinds']}), {r['concurrency']} at a time, "
        f"{len(kills)} kills ({sum(k['kind'] == 'server' for k in kills)} whole-server), "
        f"{r['chaos_s']} s under chaos, outbox drained in {r['drained_s']} s",
        "",
        "| check | value | ok | detail |",
        "|---|---:|:-:|---|",
    ]
    for c in r["checks"]:
        lines.append(
            f"| {c['name']} | {c['value']} | {'yes' if c['ok'] else 'NO'} | {c['detail']} |"
        )
    lines += [
        "",
        f"customer messages {r['customer_messages']} (acked {r['acked']}), "
        f"resent {r['resent']} times ({r['messages_resent']} messages), error frames "
        f"{r['error_frames']}, returns confirmed {r['returns_confirmed']}, staff replies "
        f"{r['staff_replies']}, sink deliveries {r['sink_deliveries']}",
        f"worker restart (new process) s: {r['worker_restart_s']}; serving again s: "
        f"{r['worker_ready_s']}; workers the supervisor replaced on its own: "
        f"{r['worker_deaths_not_ours']}",
        f"kills at s: {[k['at_s'] for k in kills]}",
        f"server log: {r['server_log']}",
        "RESULT: " + ("all checks passed" if r["ok"] else "FAILED"),
    ]
    return "\n".join(lines)
