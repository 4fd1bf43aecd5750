"""A tiny demo store (imported from JSON, so `store advance` works on it), a clock the tests move,
the notification runner over the test database, and the SMTP sink of the email tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from settings import Settings
from tests.channels.email.conftest import SUPPORT, SmtpSink, smtp_sink  # noqa: F401

# noon in New York (the default business time zone): outside quiet hours
NOON = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)

CUSTOMERS = [
    ("c1", "ada@example.com", "Ada", "Lovelace", "US", "10001", "+1 212-555-0101"),
    ("c2", "chloe@example.fr", "Chloé", "Martin", "FR", "75011", None),
    ("c3", "diego@example.es", "Diego", "García", "ES", "28001", None),
]


def store_document() -> dict[str, Any]:
    customers = [
        {
            "id": cid,
            "email": email,
            "first_name": first,
            "last_name": last,
            "phone": phone,
            "created_at": "2026-01-02T10:00:00Z",
            "default_address": {
                "name": f"{first} {last}",
                "line1": "1 Main St",
                "city": {"US": "New York", "FR": "Paris", "ES": "Madrid"}[country],
                "postal_code": postal,
                "country": country,
            },
        }
        for cid, email, first, last, country, postal, phone in CUSTOMERS
    ]
    orders = []
    for n in range(12):  # #1001.. : customer c1, c2, c3 in turn, all paid, nothing shipped
        orders.append(
            {
                "number": f"#{1001 + n}",
                "customer_id": CUSTOMERS[n % 3][0],
                "created_at": "2026-10-30T15:30:00Z",
                "status": "paid",
                "line_items": [{"sku": "TR-9", "quantity": 1}],
            }
        )
    return {
        "format": "support-agent-store",
        "version": 2,
        "customers": customers,
        "products": [
            {
                "id": "p1",
                "title": "Trail Runner",
                "category": "footwear",
                "variants": [{"sku": "TR-9", "price": "129.00", "stock": 10}],
            }
        ],
        "orders": orders,
    }


def write_store(folder: Path) -> Path:
    """The tiny store as a demo-store file at `<folder>/demo_store.db`."""
    from commerce.demo.importer import import_store

    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "store.json"
    source.write_text(json.dumps(store_document()), encoding="utf-8")
    path = folder / "demo_store.db"
    import_store(source, path)
    return path


@dataclass
class Clock:
    now: datetime = NOON

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Env:
    settings: Settings
    store: Any
    sessions: Any
    engine: Any
    clock: Clock
    runner: Any
    outbox: Any
    sink: SmtpSink | None = None
    pushed: list[dict[str, Any]] = field(default_factory=list)

    async def advance(self, number: str, to: str, days: int = 3) -> Any:
        return await self.store.advance_order(order_number=number, to=to, days=days)

    async def run(self, **kwargs: Any) -> Any:
        return await self.runner.run_once(**kwargs)

    async def deliver(self) -> int:
        total = 0
        while attempted := int(await self.outbox.run_once()):
            total += attempted
        return total

    def new_runner(self) -> Any:
        """A runner as a restarted process builds it (same database, same store)."""
        from notifications.runner import NotificationRunner

        return NotificationRunner(
            sessions=self.sessions, store=self.store, settings=self.settings, clock=self.clock
        )


class _Bus:
    def __init__(self, pushed: list[dict[str, Any]]) -> None:
        self._pushed = pushed

    async def publish(self, _topic: str, frame: dict[str, Any]) -> None:
        self._pushed.append(frame)


@pytest.fixture
def notify_settings(settings: Settings, smtp_sink: SmtpSink) -> Settings:  # noqa: F811
    return settings.model_copy(
        update={
            "email_address": SUPPORT,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_sink.port,
            "smtp_security": "none",
            "smtp_timeout_s": 5.0,
            "public_url": "https://help.shop.test",
        }
    )


@pytest.fixture
async def notify_env(
    notify_settings: Settings,
    smtp_sink: SmtpSink,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[Env]:
    env = await make_env(notify_settings, tmp_path, sink=smtp_sink)
    yield env
    await env.store.close()
    await env.engine.dispose()


async def make_env(
    settings: Settings,
    tmp_path: Path,
    *,
    sink: SmtpSink | None = None,
    store_factory: Callable[..., Any] | None = None,
) -> Env:
    from channels.email.outbound import EMAIL_SEND, SmtpSender
    from commerce.demo.store import DemoStore
    from helpdesk.outbox import OutboxWorker
    from notifications.runner import NotificationRunner
    from storage.engine import make_engine, make_sessionmaker
    from storage.migrate import upgrade

    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock = Clock()
    path = write_store(tmp_path / "store")
    store = (store_factory or DemoStore.open)(path, clock=clock)
    outbox = OutboxWorker(sessions, {}, senders={EMAIL_SEND: SmtpSender(settings)}, clock=clock)
    pushed: list[dict[str, Any]] = []
    runner = NotificationRunner(
        sessions=sessions, store=store, settings=settings, clock=clock, bus=_Bus(pushed)
    )
    return Env(settings, store, sessions, engine, clock, runner, outbox, sink, pushed)
