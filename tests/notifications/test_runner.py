"""The runner over the tiny demo store and the test database: a demo order's life sends the right
notices once, quiet hours and the daily cap defer (never drop), opted-out customers get nothing,
a dry run writes nothing, a restart between the outbox write and the send sends one email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from helpdesk.outbox import OutboxWorker
from notifications.optout import email_hash, record_optout
from storage.tables import Conversation, Message
from storage.tables_email import EmailRecord
from storage.tables_helpdesk import OutboxEntry
from storage.tables_notify import (
    Notification,
    NotificationOptOut,
    NotificationSource,
    OrderWatch,
    ShopifyDelivery,
)
from tests.notifications.conftest import Env

TABLES = (
    Notification,
    NotificationOptOut,
    NotificationSource,
    OrderWatch,
    ShopifyDelivery,
    OutboxEntry,
    EmailRecord,
    Message,
    Conversation,
)


async def counts(env: Env) -> dict[str, int]:
    async with env.sessions() as session:
        return {
            t.__tablename__: int(await session.scalar(select(func.count()).select_from(t)) or 0)
            for t in TABLES
        }


async def rows(env: Env, order: str | None = None) -> list[tuple[str, str, str, str]]:
    query = select(
        Notification.order_number, Notification.event, Notification.status, Notification.reason
    ).order_by(Notification.id)
    if order is not None:
        query = query.where(Notification.order_number == order)
    async with env.sessions() as session:
        return [tuple(r) for r in (await session.execute(query)).all()]  # type: ignore[misc]


def at_local(env: Env, day: int, hour: int, minute: int = 0) -> datetime:
    """Nov `day` 2026 at hour:minute in New York (the business time zone)."""
    local = datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("America/New_York"))
    env.clock.now = local.astimezone(UTC)
    return env.clock.now


async def test_a_demo_order_through_its_life_sends_the_right_notices_once(notify_env: Env) -> None:
    env = notify_env
    assert (await env.run()).sent == []  # the first pass only learns the store
    at_local(env, 2, 10)
    await env.advance("#1001", "shipped")
    first = await env.run()
    assert [(s.order, s.event, s.channels) for s in first.sent] == [("#1001", "shipped", ["email"])]
    at_local(env, 2, 15)
    await env.advance("#1001", "in_transit")
    assert (await env.run()).sent == []  # a scan on the way is no news (rules.yaml)
    at_local(env, 3, 9)
    await env.advance("#1001", "out_for_delivery")
    assert [s.event for s in (await env.run()).sent] == ["out_for_delivery"]
    at_local(env, 3, 14)
    await env.advance("#1001", "delivered")
    held = await env.run()
    assert held.sent == [] and held.deferred == {"daily_cap": 1}  # one notice a day
    at_local(env, 4, 9)
    assert [s.event for s in (await env.run()).sent] == ["delivered"]
    for _ in range(3):  # later passes, retries: nothing more
        env.clock.advance(hours=1)
        assert (await env.run()).sent == []
    assert await rows(env) == [
        ("#1001", "shipped", "sent", ""),
        ("#1001", "in_transit", "skipped", "rule_off"),
        ("#1001", "out_for_delivery", "sent", ""),
        ("#1001", "delivered", "sent", ""),
    ]
    assert await env.deliver() == 3
    assert env.sink is not None
    subjects = [m.message["Subject"] for m in env.sink.sent]
    assert [s.split(" [#")[0] for s in subjects] == [
        "Your order #1001 is on its way",
        "Order #1001 is out for delivery today",
        "Order #1001 was delivered",
    ]
    assert {tuple(m.rcpt_tos) for m in env.sink.sent} == {("ada@example.com",)}
    assert len({m.message["Message-ID"] for m in env.sink.sent}) == 3
    for sent in env.sink.sent:
        assert sent.message["Auto-Submitted"] == "auto-generated"
        assert sent.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "https://help.shop.test/notifications/opt-out?h=" in sent.message["List-Unsubscribe"]
    # every fact from the store: the carrier and tracking link of the shipment it created
    order = await env.store.find_order("#1001")
    shipment = order.shipments[-1]
    body = env.sink.sent[0].message.get_body(("plain",)).get_content()
    assert shipment.carrier in body and shipment.tracking_number in body
    assert "Friday, November 6" in body  # the estimate: four days after shipping, local date
    # one conversation for the order, bound to its customer, holding the three notices
    async with env.sessions() as session:
        conversations = (await session.scalars(select(Conversation))).all()
        assert len(conversations) == 1
        assert conversations[0].verified_customer_id == "c1"
        assert conversations[0].engine_state["order_number"] == "#1001"
        texts = (
            await session.scalars(
                select(Message.text).where(Message.conversation_id == conversations[0].id)
            )
        ).all()
    assert len(texts) == 3 and all("#1001" in t for t in texts)


async def test_quiet_hours_defer_and_never_drop(notify_env: Env) -> None:
    env = notify_env
    await env.run()
    at_local(env, 2, 23, 30)  # quiet hours: 21:00-08:00 New York
    await env.advance("#1002", "shipped")
    night = await env.run()
    assert night.sent == [] and night.deferred == {"quiet_hours": 1}
    assert (await counts(env))["outbox"] == 0
    at_local(env, 3, 7, 59)
    assert (await env.run()).sent == []
    at_local(env, 3, 8, 0)
    morning = await env.run()
    assert [(s.order, s.event) for s in morning.sent] == [("#1002", "shipped")]
    assert await env.deliver() == 1
    # the French customer's notice is in French, dates too
    assert env.sink is not None
    message = env.sink.sent[0].message
    assert message["Subject"].startswith("Votre commande #1002 est en route")
    assert "Bonjour Chloé" in message.get_body(("plain",)).get_content()


async def test_exceptions_go_out_even_after_a_notice_today(notify_env: Env) -> None:
    env = notify_env
    await env.run()
    at_local(env, 2, 9)
    await env.advance("#1001", "shipped")
    assert len((await env.run()).sent) == 1
    at_local(env, 2, 11)
    await env.advance("#1001", "exception")
    sent = (await env.run()).sent
    assert [s.event for s in sent] == ["exception"]
    assert "person" in sent[0].text  # a problem offers a colleague
    at_local(env, 2, 12)
    await env.advance("#1001", "delayed", days=2)
    assert (await env.run()).deferred == {"daily_cap": 1}  # a delay is not exempt


async def test_an_opted_out_customer_gets_nothing(notify_env: Env) -> None:
    env = notify_env
    await env.run()
    async with env.sessions.begin() as session:
        await record_optout(session, email_hash("ADA@example.com ", env.settings), source="staff")
    at_local(env, 2, 10)
    await env.advance("#1001", "shipped")  # Ada's
    await env.advance("#1002", "shipped")  # Chloé's
    report = await env.run()
    assert [s.order for s in report.sent] == ["#1002"]
    assert report.skipped == {"opted_out": 1}
    await env.deliver()
    assert env.sink is not None
    assert [m.rcpt_tos for m in env.sink.sent] == [["chloe@example.fr"]]


async def test_a_dry_run_writes_nothing(notify_env: Env) -> None:
    env = notify_env
    await env.run()
    at_local(env, 2, 10)
    await env.advance("#1001", "shipped")
    await env.advance("#1003", "shipped")
    before = await counts(env)
    dry = await env.run(dry_run=True)
    assert sorted(s.order for s in dry.sent) == ["#1001", "#1003"]
    assert await counts(env) == before
    real = await env.run()  # the dry run left the events to be found again
    assert sorted(s.order for s in real.sent) == ["#1001", "#1003"]


async def test_a_restart_between_the_outbox_write_and_the_send_sends_one_email(
    notify_env: Env,
) -> None:
    env = notify_env
    await env.run()
    at_local(env, 2, 10)
    await env.advance("#1001", "shipped")
    assert len((await env.run()).sent) == 1  # committed: message + outbox row, not yet sent
    # the process dies here; a new one starts on the same database and store
    await env.engine.dispose()
    restarted = env.new_runner()
    for _ in range(3):
        env.clock.advance(minutes=10)
        assert (await restarted.run_once()).sent == []
    from channels.email.outbound import EMAIL_SEND, SmtpSender

    worker = OutboxWorker(
        env.sessions, {}, senders={EMAIL_SEND: SmtpSender(env.settings)}, clock=env.clock
    )
    while await worker.run_once():
        pass
    assert env.sink is not None and len(env.sink.sent) == 1
    assert await rows(env) == [("#1001", "shipped", "sent", "")]


async def test_a_notice_reaches_the_customers_open_chat(notify_env: Env) -> None:
    env = notify_env
    await env.run()
    at_local(env, 2, 10)
    async with env.sessions.begin() as session:
        chat = Conversation(channel="web", owner="bot", owner_version=0)
        session.add(chat)
        await session.flush()
        chat.verified_customer_id = "c1"
        chat.updated_at = env.clock.now - timedelta(minutes=5)
        chat_id = chat.id
    await env.advance("#1001", "shipped")
    sent = (await env.run()).sent
    assert sent[0].channels == ["email", "widget"] and sent[0].conversation_id == chat_id
    assert [f["conversation_id"] for f in env.pushed] == [chat_id]
    assert "#1001" in env.pushed[0]["text"]


async def test_polling_ignores_what_happened_before_it_started(notify_env: Env) -> None:
    env = notify_env
    await env.advance("#1001", "shipped")
    await env.advance("#1001", "delivered")
    assert (await env.run()).sent == []  # history, not news
    env.clock.advance(days=10)
    assert (await env.run()).sent == []
    assert await rows(env) == []


async def test_time_makes_events_too(notify_env: Env) -> None:
    env = notify_env
    await env.run()
    at_local(env, 2, 10)
    await env.advance("#1001", "shipped")
    await env.run()
    at_local(env, 5, 10)  # three days without a scan
    assert [s.event for s in (await env.run()).sent] == ["no_scan"]
    at_local(env, 7, 10)  # the estimate (Nov 6, 20:00 UTC) has passed
    assert [s.event for s in (await env.run()).sent] == ["eta_passed"]


def _events(report: Any) -> list[str]:
    return [s.event for s in report.sent]


async def _webhook_shipped(env: Env, number: str, webhook_id: int) -> None:
    """Shopify's signed fulfillments/create for `number`, naming no fulfillment id."""
    from notifications.shopify import handle
    from tests.notifications.test_optout_property import SECRET, _webhook

    headers, body = _webhook(number, "shipped", webhook_id)
    async with env.sessions.begin() as session:
        await handle(session, headers, body, secret=SECRET, now=env.clock.now)


async def test_a_webhook_ahead_of_the_store_waits_for_the_shipment_and_is_told_once(
    notify_env: Env,
) -> None:
    env = notify_env
    await env.run()
    at_local(env, 2, 10)
    await _webhook_shipped(env, "#1001", 1)  # the store shows no shipment yet
    early = await env.run()
    assert early.sent == [] and early.deferred == {"awaiting_store": 1}
    await env.advance("#1001", "shipped")  # now it does; the poller sees it too
    env.clock.advance(minutes=1)
    assert [(s.order, s.event) for s in (await env.run()).sent] == [("#1001", "shipped")]
    env.clock.advance(minutes=10)  # the webhook's row is due again: keyed by the shipment now
    later = await env.run()
    assert later.sent == [] and later.skipped == {"duplicate": 1}
    assert await rows(env) == [
        ("#1001", "shipped", "skipped", "duplicate"),
        ("#1001", "shipped", "sent", ""),
    ]
    assert await env.deliver() == 1
    assert env.sink is not None and len(env.sink.sent) == 1


async def test_a_webhook_the_store_never_confirms_is_given_up_after_two_days(
    notify_env: Env,
) -> None:
    env = notify_env
    await env.run()
    at_local(env, 2, 10)
    await _webhook_shipped(env, "#1002", 2)
    for hours in (1, 20, 26):
        env.clock.advance(hours=hours)
        report = await env.run()
        assert report.sent == [] and report.deferred == {"awaiting_store": 1}
    env.clock.advance(hours=1)  # 48 hours after it came
    assert (await env.run()).skipped == {"not_in_store": 1}
    assert await rows(env) == [("#1002", "shipped", "skipped", "not_in_store")]


async def test_with_no_channel_the_notice_is_skipped_and_leaves_no_message(
    notify_settings: Any, tmp_path: Any
) -> None:
    """No mailbox configured and no open chat: nobody would see it, so no message stays in a
    conversation and the row says why (`notify run` on a fresh demo without email)."""
    from tests.notifications.conftest import make_env

    env = await make_env(notify_settings.model_copy(update={"email_address": None}), tmp_path)
    try:
        await env.run()
        at_local(env, 2, 10)
        await env.advance("#1001", "shipped")
        report = await env.run()
        assert report.sent == [] and report.skipped == {"no_channel": 1}
        assert await rows(env) == [("#1001", "shipped", "skipped", "no_channel")]
        assert (await counts(env))["messages"] == 0
        assert (await env.run()).skipped == {}  # told once: not tried again
    finally:
        await env.store.close()
        await env.engine.dispose()
