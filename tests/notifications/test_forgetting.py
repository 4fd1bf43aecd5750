"""Notifications are forgotten with the customer: `privacy erase` and the retention job delete
the notices and the poller's snapshots (opt-outs stay, as digests), and the poller, meeting a
forgotten order again, remembers it as it is instead of telling its past twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from notifications.optout import email_hash, record_optout
from storage.privacy import erase_customer
from storage.retention import run_retention
from storage.tables import Conversation
from storage.tables_notify import Notification, NotificationOptOut, OrderWatch
from tests.notifications.conftest import NOON, Env
from tests.notifications.test_runner import at_local, rows


class _PlacedToday:
    """The tiny store with every order placed just after the poller started: news, not history,
    for a poller that meets them without a snapshot (the case forgetting must not re-open)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @staticmethod
    def _placed(order: Any) -> Any:
        return order and order.model_copy(update={"created_at": NOON + timedelta(minutes=1)})

    async def find_order(self, number: str) -> Any:
        return self._placed(await self._store.find_order(number))

    async def list_orders(self, **kwargs: Any) -> list[Any]:
        return [self._placed(o) for o in await self._store.list_orders(**kwargs)]


@pytest.fixture
def env(notify_env: Env) -> Env:
    from notifications.runner import NotificationRunner

    notify_env.runner = NotificationRunner(
        sessions=notify_env.sessions,
        store=_PlacedToday(notify_env.store),
        settings=notify_env.settings,
        clock=notify_env.clock,
    )
    return notify_env


async def _count(env: Env, table: object, *where: object) -> int:
    async with env.sessions() as session:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int(await session.scalar(query.where(*where)) or 0)  # type: ignore[arg-type]


async def _told(env: Env) -> None:
    """Ada's #1001 shipped and delivered, her #1004 shipped then a problem, Chloé's #1002
    shipped; then Ada opts out."""
    await env.run()
    at_local(env, 2, 10)
    for number in ("#1001", "#1004", "#1002"):
        await env.advance(number, "shipped")
    await env.run()
    at_local(env, 3, 10)
    await env.advance("#1001", "delivered")
    await env.advance("#1004", "exception")
    await env.run()
    at_local(env, 4, 10)
    await env.run()  # what the daily cap moved
    async with env.sessions.begin() as session:
        await record_optout(session, email_hash("ada@example.com", env.settings), source="link")


async def test_erase_leaves_no_notice_of_the_customer_and_tells_nothing_again(
    env: Env,
) -> None:
    await _told(env)
    assert {r[0] for r in await rows(env)} == {"#1001", "#1004", "#1002"}
    adas = len([r for r in await rows(env) if r[0] in ("#1001", "#1004")])
    async with env.sessions.begin() as session:
        counts = await erase_customer(session, ["c1"], addresses=["ada@example.com"])
    assert counts["notifications"] == adas > 0
    assert counts["notification_order_state"] == 2
    assert {r[0] for r in await rows(env)} == {"#1002"}  # Chloé's stay
    assert await _count(env, OrderWatch, OrderWatch.order_number.in_(["#1001", "#1004"])) == 0
    assert await _count(env, OrderWatch, OrderWatch.order_number == "#1002") == 1
    assert await _count(env, Conversation, Conversation.verified_customer_id == "c1") == 0
    assert await _count(env, NotificationOptOut) == 1  # the digest stays: no mail, ever
    # the next passes meet Ada's orders again: remembered as they are, nothing told twice
    before = set(await rows(env))
    for day in (5, 8, 12):
        at_local(env, day, 10)
        sent = (await env.run()).sent
        assert [s.order for s in sent if s.order != "#1002"] == []
    # only news made after the erasure (Ada's parcel in trouble outlives its estimate) and,
    # Ada having opted out, skipped; nothing she was told before is recorded again
    new = sorted(r for r in set(await rows(env)) - before if r[0] != "#1002")
    assert new == [
        ("#1004", "eta_passed", "skipped", "opted_out"),
        ("#1004", "no_scan", "skipped", "opted_out"),
    ]


async def test_retention_deletes_old_notices_and_snapshots_and_nothing_is_told_again(
    env: Env,
) -> None:
    await _told(env)
    told = await _count(env, Notification)
    assert told >= 5
    at_local(env, 4, 23)  # quiet hours: Chloé's delivery waits, pending
    await env.advance("#1002", "delivered")
    await env.run()
    assert [r[1:] for r in await rows(env, "#1002")][-1] == ("delivered", "pending", "quiet_hours")
    later = env.clock.advance(days=40)
    report = await run_retention(env.sessions, retention_days=30, now=later)
    assert report.counts["notifications"] == told
    assert report.counts["notification_order_state"] == 12  # every order the poller watched
    assert await rows(env) == [("#1002", "delivered", "pending", "quiet_hours")]
    assert await _count(env, OrderWatch) == 0
    assert await _count(env, NotificationOptOut) == 1
    # passes after it: the waiting notice goes out; the forgotten past is not told again
    env.clock.now = later.replace(hour=16)  # 11:00 in New York
    sent = (await env.run()).sent
    assert [(s.order, s.event) for s in sent] == [("#1002", "delivered")]
    env.clock.advance(days=2)
    assert (await env.run()).sent == []
    assert await _count(env, OrderWatch) == 12
    assert len(await rows(env)) == 1


async def test_a_delivered_parcel_long_silent_is_not_told_twice_after_retention(
    env: Env,
) -> None:
    """no_scan and eta_passed are made by time: each is seen by one pass only, so deleting
    their rows does not let a later pass make them again."""
    await env.run()
    at_local(env, 2, 10)
    await env.advance("#1003", "shipped")
    await env.run()
    at_local(env, 5, 10)
    assert [s.event for s in (await env.run()).sent] == ["no_scan"]
    at_local(env, 7, 10)
    assert [s.event for s in (await env.run()).sent] == ["eta_passed"]
    later = env.clock.advance(days=40)
    await run_retention(env.sessions, retention_days=30, now=later - timedelta(hours=1))
    assert await rows(env) == []
    for _ in range(3):
        assert (await env.run()).sent == []
        env.clock.advance(days=1)
    assert await rows(env) == []
