"""The poller covers every order that can still change, not only the newest: an order that 300
newer ones pushed out of the newest 250 still has its news told, each pass looks at a bounded
number of orders, and a settled order drops out of the turn after SETTLED_WATCH."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from commerce.demo.importer import import_store
from commerce.demo.store import DemoStore
from notifications.poller import SETTLED_WATCH
from notifications.runner import NotificationRunner
from settings import Settings
from tests.notifications.conftest import Env, make_env, store_document
from tests.notifications.test_runner import at_local


class _Placing:
    """A store whose orders are placed over time: only the first `placed` (by number) exist.
    Counts what the poller asks of it."""

    def __init__(self, store: Any, placed: int) -> None:
        self._store = store
        self.placed = placed
        self.found: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _exists(self, number: str) -> bool:
        return int(number.lstrip("#")) - 1001 < self.placed

    async def find_order(self, number: str) -> Any:
        self.found.append(number)
        return await self._store.find_order(number) if self._exists(number) else None

    async def list_orders(self, *, limit: int = 20, **kwargs: Any) -> list[Any]:
        orders = await self._store.list_orders(limit=100_000, **kwargs)
        return [o for o in orders if self._exists(o.number)][:limit]


def _store_with(folder: Path, count: int) -> Path:
    """The tiny store's customers with `count` paid orders, #1001 the oldest."""
    document = store_document()
    placed = datetime(2026, 10, 1, tzinfo=UTC)
    document["orders"] = [
        {
            "number": f"#{1001 + n}",
            "customer_id": f"c{n % 3 + 1}",
            "created_at": (placed + timedelta(minutes=n)).isoformat(),
            "status": "paid",
            "line_items": [{"sku": "TR-9", "quantity": 1}],
        }
        for n in range(count)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "store.json").write_text(json.dumps(document), encoding="utf-8")
    import_store(folder / "store.json", folder / "big.db")
    return folder / "big.db"


async def _env(
    settings: Settings, tmp_path: Path, orders: int, placed: int
) -> tuple[Env, _Placing]:
    path = _store_with(tmp_path / "big", orders)
    env = await make_env(
        settings, tmp_path, store_factory=lambda _p, clock: DemoStore.open(path, clock=clock)
    )
    store = _Placing(env.store, placed)
    env.runner = NotificationRunner(
        sessions=env.sessions, store=store, settings=settings, clock=env.clock
    )
    return env, store


async def _poll(env: Env) -> int:
    async with env.sessions.begin() as session:
        return await env.runner.poller.poll(session, now=env.clock.now)


async def test_an_order_pushed_out_of_the_newest_250_is_still_told(
    notify_settings: Settings, tmp_path: Path
) -> None:
    env, store = await _env(notify_settings, tmp_path, orders=300, placed=250)
    try:
        await env.run()  # learns the 250 orders placed so far
        at_local(env, 2, 10)
        await env.advance("#1001", "shipped")
        assert [(s.order, s.event) for s in (await env.run()).sent] == [("#1001", "shipped")]
        store.placed = 300  # 50 newer orders: #1001-#1050 are no longer among the newest 250
        newest = await store.list_orders(limit=250)
        assert "#1001" not in {o.number for o in newest}
        at_local(env, 3, 10)
        await env.advance("#1001", "out_for_delivery")
        await env.advance("#1002", "shipped")
        store.found.clear()
        told = {(s.order, s.event) for s in (await env.run()).sent}
        assert told == {("#1001", "out_for_delivery"), ("#1002", "shipped")}
        # the turn looked at the 50 watched orders outside the window (then each told row once)
        assert len(store.found) == 50 + 2
    finally:
        await env.store.close()
        await env.engine.dispose()


async def test_each_pass_looks_at_a_bounded_turn_and_covers_all_in_a_few_passes(
    notify_settings: Settings, tmp_path: Path
) -> None:
    settings = notify_settings.model_copy(update={"notify_poll_orders": 5})
    env, store = await _env(settings, tmp_path, orders=12, placed=5)
    try:
        for placed in (5, 10, 12):  # orders arrive five at a time; all are watched
            store.placed = placed
            await _poll(env)
        at_local(env, 2, 10)
        for n in range(1001, 1008):  # seven orders outside the newest five ship
            await env.advance(f"#{n}", "shipped")
        recorded = []
        for _ in range(2):
            store.found.clear()
            recorded.append(await _poll(env))
            assert len(store.found) <= 5  # bounded: the newest five, plus at most five more
        assert recorded == [5, 2]
        report = await env.run(poll=False)
        assert sorted(s.order for s in report.sent) == [f"#{n}" for n in range(1001, 1008)]

        # a delivered order stays in the turn for SETTLED_WATCH (a return's refund), then leaves
        await env.advance("#1001", "delivered")
        looked = set()
        for _ in range(3):
            store.found.clear()
            await _poll(env)
            looked |= set(store.found)
        assert "#1001" in looked
        env.clock.advance(days=SETTLED_WATCH.days + 1)
        looked.clear()
        for _ in range(3):
            store.found.clear()
            await _poll(env)
            looked |= set(store.found)
        assert "#1001" not in looked and "#1002" in looked  # #1002 is still on its way
    finally:
        await env.store.close()
        await env.engine.dispose()
