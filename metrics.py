"""Prometheus metrics: what the server counts, and the text `GET /metrics` answers.

One process keeps its samples in a registry of its own. With N workers (`serve --workers N`)
every process writes its samples to files under PROMETHEUS_MULTIPROC_DIR and a scrape, answered
by whichever worker gets it, merges them (prometheus_client's multiprocess mode). `serve` calls
`prepare_multiprocess_dir` once, before the workers start and before anything in that process
imports prometheus_client: the client chooses where values live when it is first imported, so
this module imports it lazily, on the first sample.

The instruments are per process, as Prometheus counters are: they live here rather than on the
services bundle so the hooks in the runner, the tool wrapper, the socket and the escalation path
stay one call each. Tests read deltas, never absolute values.
"""

from __future__ import annotations

import atexit
import os
import shutil
import threading
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, String, column, func, select, table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# seconds; a turn of the offline engine takes milliseconds, a hosted model's several seconds
TURN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# what a turn did, named by the tools it called; the first group that matches wins
TURN_KINDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("handoff", frozenset({"escalate_to_human", "route_ticket"})),
    (
        "action",
        frozenset(
            {
                "start_return",
                "cancel_order",
                "change_shipping_address",
                "change_order_items",
                "change_default_address",
                "confirm_action",
            }
        ),
    ),
    (
        "order",
        frozenset(
            {
                "verify_customer",
                "get_order",
                "list_orders",
                "track_shipment",
                "list_returns",
                "check_return_eligibility",
            }
        ),
    ),
    ("faq", frozenset({"search_help_center"})),
    ("catalog", frozenset({"search_products", "get_product_details"})),
)

# the outbox rows still to deliver, named here so this ground-floor module imports no table
_OUTBOX = table(
    "outbox",
    column("status", String()),
    column("created_at", DateTime()),
)
_WAITING = ("pending", "delivering")
# proactive notifications (storage/tables_notify.py), counted from their rows at scrape time so
# the passes of every process show, `notify run` from the command line too
_NOTIFICATIONS = table(
    "notifications",
    column("status", String()),
    column("reason", String()),
)


def prepare_multiprocess_dir(
    data_dir: Path, environ: MutableMapping[str, str] | None = None
) -> Path:
    """Empties `<data_dir>/metrics` and points PROMETHEUS_MULTIPROC_DIR at it (in `environ`,
    the process environment by default, which the workers inherit). Files left by an earlier
    run would add its counts to this one's, so the folder is wiped at every start."""
    path = data_dir / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (os.environ if environ is None else environ)[MULTIPROC_ENV] = str(path)
    return path


def prepare_multiprocess(settings: Any) -> Path:
    """The one call `serve --workers N` makes in the parent, before the workers start."""
    return prepare_multiprocess_dir(settings.data_dir)


def turn_kind(tools: Iterable[str]) -> str:
    names = set(tools)
    if not names:
        return "reply"  # greetings, thanks, questions asked back
    for kind, group in TURN_KINDS:
        if names & group:
            return kind
    return "other"


@dataclass
class _Instruments:
    turn_seconds: Any
    tool_calls: Any
    tool_failures: Any
    escalations: Any
    open_sockets: Any
    model_tokens: Any
    model_path: Any
    registry: Any  # None in multiprocess mode: the samples live in files


_instruments: _Instruments | None = None
_lock = threading.Lock()


def _get() -> _Instruments:
    global _instruments
    if _instruments is None:
        with _lock:
            if _instruments is None:
                _instruments = _build()
    return _instruments


def _build() -> _Instruments:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    path = os.environ.get(MULTIPROC_ENV)
    registry = None if path else CollectorRegistry(auto_describe=True)
    if path:  # a worker that stops cleanly takes its open-socket count with it
        from prometheus_client import multiprocess

        atexit.register(multiprocess.mark_process_dead, os.getpid(), path)
    return _Instruments(
        turn_seconds=Histogram(
            "support_turn_seconds",
            "Bot turns, from the customer's message to the committed reply.",
            ["engine", "kind"],
            buckets=TURN_BUCKETS,
            registry=registry,
        ),
        tool_calls=Counter(
            "support_tool_calls", "Tool calls made by the agent.", ["tool"], registry=registry
        ),
        tool_failures=Counter(
            "support_tool_failures",
            "Tool calls that were refused (policy, input) or failed (error).",
            ["tool", "decision"],
            registry=registry,
        ),
        escalations=Counter(
            "support_escalations",
            "Conversations handed to the human team.",
            ["reason"],
            registry=registry,
        ),
        open_sockets=Gauge(
            "support_open_sockets",
            "Chat WebSockets open now.",
            multiprocess_mode="livesum",
            registry=registry,
        ),
        model_tokens=Counter(
            "support_model_tokens",
            "Model tokens, as the model reports its usage.",
            ["engine", "direction"],
            registry=registry,
        ),
        model_path=Counter(
            "support_model_path",
            "Turns of a configured model that went another way: fallback, handoff, guard.",
            ["outcome", "why"],
            registry=registry,
        ),
        registry=registry,
    )


# ---- the hooks ------------------------------------------------------------------------------


def observe_turn(
    *, engine: str, tools: Iterable[str], seconds: float, messages: Iterable[Any] = ()
) -> None:
    """At the end of a bot turn: its latency by kind, and the tokens the model reported."""
    m = _get()
    m.turn_seconds.labels(engine=engine, kind=turn_kind(tools)).observe(seconds)
    used_in = used_out = 0
    for message in messages:
        usage = getattr(message, "usage_metadata", None) or {}
        used_in += int(usage.get("input_tokens") or 0)
        used_out += int(usage.get("output_tokens") or 0)
    if used_in:
        m.model_tokens.labels(engine=engine, direction="input").inc(used_in)
    if used_out:
        m.model_tokens.labels(engine=engine, direction="output").inc(used_out)


def tool_called(name: str, decision: str) -> None:
    """`decision`: ok, refused (a ToolError the model sees) or error (an exception)."""
    m = _get()
    m.tool_calls.labels(tool=name).inc()
    if decision != "ok":
        m.tool_failures.labels(tool=name, decision=decision).inc()


def escalation_opened(reason: str) -> None:
    _get().escalations.labels(reason=reason).inc()


def model_path(outcome: str, why: str) -> None:
    """agent/llm_fallback.py: `outcome` fallback | handoff | guard, `why` what caused it."""
    _get().model_path.labels(outcome=outcome, why=why).inc()


@contextmanager
def socket_open() -> Iterator[None]:
    gauge = _get().open_sockets
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


# ---- the scrape -----------------------------------------------------------------------------


async def outbox_backlog(engine: AsyncEngine) -> tuple[int, float]:
    """Rows waiting for delivery and the age in seconds of the oldest (0 when none): one
    aggregate over the (status, ...) index."""
    query = (
        select(func.count(), func.min(_OUTBOX.c.created_at))
        .select_from(_OUTBOX)
        .where(_OUTBOX.c.status.in_(_WAITING))
    )
    async with engine.connect() as conn:
        count, oldest = (await conn.execute(query)).one()
    if oldest is None:
        return int(count), 0.0
    if oldest.tzinfo is None:  # stored in UTC; SQLite hands it back without a zone
        oldest = oldest.replace(tzinfo=UTC)
    return int(count), max(0.0, (datetime.now(UTC) - oldest).total_seconds())


async def notification_counts(engine: AsyncEngine) -> list[tuple[str, str, int]]:
    """(status, reason, rows) of the notifications table; none when the table is absent (a
    database older than migration 0010)."""
    query = (
        select(_NOTIFICATIONS.c.status, _NOTIFICATIONS.c.reason, func.count())
        .select_from(_NOTIFICATIONS)
        .group_by(_NOTIFICATIONS.c.status, _NOTIFICATIONS.c.reason)
    )
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(query)).all()
    except DBAPIError:
        return []
    return [(str(status), str(reason or ""), int(n)) for status, reason, n in found]


async def render(engine: AsyncEngine | None, *, multiproc_dir: Path | None = None) -> bytes:
    """The exposition text: this process's samples (or all workers' when a multiprocess folder
    is configured or given), then the gauges read from the database at scrape time."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    configured = os.environ.get(MULTIPROC_ENV)
    path = multiproc_dir or (Path(configured) if configured else None)
    if path is not None:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(path))
        body = generate_latest(registry)
    else:
        body = generate_latest(_get().registry)
    if engine is None:
        return body
    depth, age = await outbox_backlog(engine)
    told = CounterMetricFamily(
        "support_notifications",
        "Proactive order notifications decided, from the database: sent, or skipped and why.",
        labels=["outcome", "reason"],
    )
    waiting = GaugeMetricFamily(
        "support_notifications_pending",
        "Notifications waiting, and why (quiet_hours, daily_cap; empty: due now).",
        labels=["reason"],
    )
    for status, reason, n in await notification_counts(engine):
        if status == "pending":
            waiting.add_metric([reason], n)
        else:
            told.add_metric([status, "" if status == "sent" else reason], n)
    extra = CollectorRegistry()
    extra.register(
        _Fixed(
            GaugeMetricFamily(
                "support_outbox_depth", "Outbox rows waiting for delivery.", value=depth
            ),
            GaugeMetricFamily(
                "support_outbox_oldest_age_seconds",
                "Age of the oldest outbox row waiting for delivery (0 when none).",
                value=age,
            ),
            told,
            waiting,
        )
    )
    return body + generate_latest(extra)


class _Fixed:
    """A collector of families computed before the scrape (the query is async, collect() is
    not)."""

    def __init__(self, *families: Any) -> None:
        self._families = families

    def collect(self) -> Iterator[Any]:
        yield from self._families
