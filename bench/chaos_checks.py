"""What bench/chaos.py checks after the storm, read straight from the stores: the conversation
database (PostgreSQL, through asyncpg), the demo store's SQLite file and the webhook sink.

Each check is a name, a figure and whether it passed. At-least-once delivery to the helpdesk is
allowed (duplicate deliveries per idempotency key are counted and reported, never a failure);
silent loss is not."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.chaos_client import Ledger
from bench.chaos_sink import WebhookSink


@dataclass
class Check:
    name: str
    value: int | float | str
    ok: bool
    detail: str = ""


async def database_facts(database_url: str) -> dict[str, Any]:
    connection = await asyncpg.connect(database_url)
    try:
        messages = await connection.fetch(
            "SELECT conversation_id, client_id, text FROM messages WHERE role = 'customer'"
        )
        escalations = await connection.fetch(
            "SELECT id, conversation_id, status FROM escalations WHERE kind = 'conversation'"
        )
        staff = await connection.fetch(
            "SELECT conversation_id, text FROM messages WHERE role = 'staff'"
        )
        outbox = await connection.fetch("SELECT status, count(*) AS n FROM outbox GROUP BY status")
        actions = await connection.fetch(
            "SELECT conversation_id, status FROM pending_actions WHERE kind = 'return'"
        )
        conversations = await connection.fetch("SELECT id FROM conversations")
    finally:
        await connection.close()
    return {
        "messages": {(r["conversation_id"], r["client_id"]): r["text"] for r in messages},
        "escalations": [dict(r) for r in escalations],
        "staff": Counter((r["conversation_id"], r["text"]) for r in staff),
        "outbox": {r["status"]: int(r["n"]) for r in outbox},
        "actions": [dict(r) for r in actions],
        "conversations": {r["id"] for r in conversations},
    }


def store_returns(store_path: Path) -> tuple[Counter[str], Counter[str]]:
    """Returns per order number, and returns per line item, in the demo store."""
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as db:
        per_order = Counter(n for (n,) in db.execute("SELECT order_number FROM returns"))
        per_item = Counter(i for (i,) in db.execute("SELECT line_item_id FROM return_items"))
    return per_order, per_item


def run_checks(
    ledgers: list[Ledger],
    facts: dict[str, Any],
    returns: tuple[Counter[str], Counter[str]],
    sink: WebhookSink,
    *,
    kills: int,
    min_kills: int,
    not_restarted: int,
    server_exited: bool = False,
) -> list[Check]:
    checks: list[Check] = []
    stored = facts["messages"]
    acked = [(led, s) for led in ledgers for s in led.messages if s.acked]
    missing = [
        s.client_id for led, s in acked if stored.get((led.conversation_id, s.client_id)) != s.text
    ]
    checks.append(
        Check("acknowledged messages missing", len(missing), not missing, f"of {len(acked)} acked")
    )

    open_by_conversation = Counter(
        e["conversation_id"] for e in facts["escalations"] if e["status"] != "closed"
    )
    asked = [
        led
        for led in ledgers
        if led.kind == "escalation" and any(s.acked and "person" in s.text for s in led.messages)
    ]
    lost = [led.conversation_id for led in asked if open_by_conversation[led.conversation_id] == 0]
    doubled = [c for c, n in open_by_conversation.items() if n > 1]
    checks.append(Check("escalations lost", len(lost), not lost, f"of {len(asked)} asked"))
    checks.append(Check("conversations with 2+ open escalations", len(doubled), not doubled))

    per_order, per_item = returns
    used = {led.order_number for led in ledgers if led.kind == "return"}
    double_orders = [n for n in used if per_order[n] > 1]
    double_items = [i for i, n in per_item.items() if n > 1]
    checks.append(
        Check(
            "duplicate returns",
            len(double_orders) + len(double_items),
            not double_orders and not double_items,
            f"orders {double_orders[:5]}, items {double_items[:5]}",
        )
    )
    confirmed = [
        led
        for led in ledgers
        if led.kind == "return" and any(s.acked and s.text == "yes" for s in led.messages)
    ]
    unwritten = [led.order_number for led in confirmed if per_order[led.order_number or ""] != 1]
    checks.append(
        Check(
            "confirmed returns not written", len(unwritten), not unwritten, f"of {len(confirmed)}"
        )
    )
    stuck = [a for a in facts["actions"] if a["status"] == "executing"]
    checks.append(Check("return actions left executing", len(stuck), not stuck))

    keys = sink.by_key()
    undelivered = [e["id"] for e in facts["escalations"] if keys[f"ticket:{e['id']}"] == 0]
    checks.append(
        Check(
            "escalations never delivered to the helpdesk",
            len(undelivered),
            not undelivered,
            f"of {len(facts['escalations'])}; outbox {facts['outbox']}",
        )
    )
    duplicates = sum(n - 1 for n in keys.values() if n > 1)
    checks.append(
        Check(
            "duplicate deliveries (at-least-once, reported)",
            duplicates,
            True,
            f"{sum(1 for n in keys.values() if n > 1)} keys delivered more than once, "
            f"{len(sink.deliveries)} deliveries, "
            f"{sum(not d.signed for d in sink.deliveries)} badly signed",
        )
    )

    posted = [led for led in ledgers if led.staff_text]
    unseen = [led.conversation_id for led in posted if led.staff_seen is None]
    doubled_staff = [k for k, n in facts["staff"].items() if n > 1]
    checks.append(Check("staff replies not received", len(unseen), not unseen, f"of {len(posted)}"))
    checks.append(Check("staff replies stored twice", len(doubled_staff), not doubled_staff))
    missed = sum(led.staff_missed_live for led in posted)
    checks.append(
        Check(
            "staff replies found only by a new resume",
            missed,
            True,
            "an open socket got no push within 20 s (reported)",
        )
    )

    incomplete = [led for led in ledgers if not led.completed]
    checks.append(
        Check(
            "conversations not completed",
            len(incomplete),
            not incomplete,
            "; ".join(f"#{led.index} {led.kind}: {led.error}" for led in incomplete[:5]),
        )
    )
    known = {led.conversation_id for led in ledgers}
    orphans = len(facts["conversations"] - known)
    checks.append(
        Check(
            "orphan conversations (first frame lost, reported)",
            orphans,
            True,
            "a first message whose socket died before its conversation frame",
        )
    )
    checks.append(Check("workers killed", kills, kills >= min_kills, f"at least {min_kills}"))
    checks.append(
        Check("killed workers not restarted by uvicorn", not_restarted, not not_restarted)
    )
    checks.append(
        Check(
            "server stopped on its own",
            int(server_exited),
            not server_exited,
            "uvicorn stops the supervisor when a restarted worker fails start-up",
        )
    )
    return checks
