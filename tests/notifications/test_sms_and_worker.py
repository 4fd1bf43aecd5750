"""The SMS channel (a signed webhook through the outbox, retried), the counts in /metrics, and the
worker `serve` starts under the `notifications` lease when SUPPORT_NOTIFY_ENABLED is on."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import select

import metrics
from channels.email.outbound import EMAIL_SEND, SmtpSender
from commerce.demo.store import DemoStore
from helpdesk.connectors.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from helpdesk.outbox import OutboxWorker, RetryPolicy
from notifications.delivery import SMS_SEND, SmsWebhookSender
from settings import Settings
from storage.tables_notify import NotificationSource
from storage.tables_security import Lease
from tests.notifications.conftest import Env, write_store
from tests.notifications.test_runner import at_local

SMS_SECRET = "sms-hook-secret-0123456789"


async def test_sms_goes_as_a_signed_webhook_through_the_outbox(notify_env: Env) -> None:
    env = notify_env
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) == 1 else 202)  # one failure: retried

    settings = env.settings.model_copy(
        update={
            "notify_sms_webhook_url": "https://sms.example.test/send",
            "notify_sms_webhook_secret": SecretStr(SMS_SECRET),
        }
    )
    env.runner._settings = settings
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    worker = OutboxWorker(
        env.sessions,
        {},
        senders={EMAIL_SEND: SmtpSender(settings), SMS_SEND: SmsWebhookSender(settings, http)},
        clock=env.clock,
        policy=RetryPolicy(base_s=0.001, cap_s=0.001),
    )
    await env.run()
    at_local(env, 2, 10)
    await env.advance("#1001", "shipped")  # Ada has a phone number
    await env.advance("#1002", "shipped")  # Chloé has none
    sent = {s.order: s.channels for s in (await env.run()).sent}
    assert sent == {"#1001": ["email", "sms"], "#1002": ["email"]}
    for _ in range(5):
        await worker.run_once()
        env.clock.advance(seconds=1)
    await http.aclose()
    assert len(seen) == 2  # the 503, then the retry
    last = seen[-1]
    assert verify(
        SMS_SECRET,
        timestamp=last.headers[TIMESTAMP_HEADER],
        body=last.content,
        signature=last.headers[SIGNATURE_HEADER],
    )
    assert last.headers["Idempotency-Key"] == seen[0].headers["Idempotency-Key"]
    body = json.loads(last.content)
    assert (body["to"], body["order"], body["event"]) == ("+1 212-555-0101", "#1001", "shipped")
    order = await env.store.find_order("#1001")
    assert order.shipments[-1].tracking_url in body["text"]
    assert env.sink is not None and len(env.sink.sent) == 2


def _scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("support_notifications")
        for sample in family.samples
    }


async def test_counts_reach_metrics_from_the_database(notify_env: Env) -> None:
    """The passes ran by another process (a runner of its own, as `notify run` builds) show in
    the scrape of a server with its own engine: the counts are read from the rows."""
    from storage.engine import make_engine

    env = notify_env
    other_process = env.new_runner()
    await other_process.run_once()
    at_local(env, 2, 10)
    await env.advance("#1001", "shipped")
    await env.advance("#1001", "in_transit")
    await other_process.run_once()
    at_local(env, 2, 23)  # quiet hours: the next notice waits
    await env.advance("#1002", "shipped")
    await other_process.run_once()
    server_engine = make_engine(env.settings.sqlalchemy_url)
    try:
        seen = _scrape((await metrics.render(server_engine)).decode())
    finally:
        await server_engine.dispose()
    assert seen == {
        ("support_notifications_total", (("outcome", "sent"), ("reason", ""))): 1.0,
        ("support_notifications_total", (("outcome", "skipped"), ("reason", "rule_off"))): 1.0,
        ("support_notifications_pending", (("reason", "quiet_hours"),)): 1.0,
    }


async def test_serve_runs_the_worker_under_a_lease(
    make_services: Any, notify_settings: Settings, tmp_path: Path
) -> None:
    settings = notify_settings.model_copy(update={"notify_enabled": True, "notify_poll_s": 0.05})
    store = DemoStore.open(write_store(tmp_path / "store"))
    services = await make_services(settings=settings, store=store)
    services.start_background()
    found: list[Any] = []
    for _ in range(400):  # until the worker has taken its lease and looked at the store
        async with services.sessions() as session:
            found = [
                await session.get(Lease, "notifications"),
                await session.scalar(select(NotificationSource.name)),
            ]
        if all(found):
            break
        await asyncio.sleep(0.05)
    assert found[1] == "poll:demo" and found[0] is not None
