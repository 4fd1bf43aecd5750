"""The composition root: the only place that chooses concrete backends."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agent.graph import build_graph
from agent.llm import close_model, make_chat_model
from agent.local.engine import LocalChatModel
from agent.runner import Runner
from bus import Bus, announce, make_bus
from channels.email.outbound import EMAIL_SEND, SmtpSender
from channels.rates import ChatRates
from commerce.backend import StoreBackend
from commerce.policy import load_policy
from helpdesk.connectors import build_connectors
from helpdesk.outbox import OutboxWorker, RetryPolicy
from helpdesk.triage import Triager
from notifications.delivery import SMS_SEND, SmsWebhookSender
from settings import Settings
from storage.engine import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.retention import RetentionJob
from storage.throttle import Throttle, build_rate_throttle, build_throttle
from tools import default_tools
from tools.context import KnowledgeSearch, ToolDeps

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    store: StoreBackend
    knowledge: KnowledgeSearch
    embedder: Any
    model: BaseChatModel
    tools: list[BaseTool]
    runner: Runner
    deps: ToolDeps
    bus: Bus

    outbox: Any = None  # helpdesk.outbox.OutboxWorker
    http: Any = None  # the shared outbound httpx.AsyncClient
    throttle: Throttle | None = None  # rates and lock-outs (storage/throttle.py)
    rates: ChatRates | None = None  # per-IP limits of the customer channel
    _stop: asyncio.Event | None = None
    _tasks: list[asyncio.Task[None]] | None = None

    async def email_staff_reply(self, session: AsyncSession, **fields: Any) -> str | None:
        """A staff message on an email conversation, queued as an email in `session`
        (channels/email/outbound.py). The console reaches the email channel through here.
        A conversation a notice started, where the customer has not written yet, is answered
        at the order's address, threaded on the notice (notifications/replies.py)."""
        from channels.email.outbound import enqueue_staff_reply

        sent = await enqueue_staff_reply(session, settings=self.settings, **fields)
        if sent is None:
            from notifications.replies import enqueue_notice_reply

            sent = await enqueue_notice_reply(
                session, settings=self.settings, store=self.store, now=self.deps.clock(), **fields
            )
        return sent

    def start_background(self) -> None:
        """Pollers for a serving process (the CLI leaves rows for the server). With N workers
        each poller runs in one of them at a time, under a database lease."""
        from storage.leases import run_as_singleton, worker_id

        self._stop = asyncio.Event()
        holder = worker_id()
        self._tasks = [
            asyncio.create_task(
                run_as_singleton(
                    self.sessions, "outbox", self.outbox.run_forever, self._stop, holder=holder
                )
            )
        ]
        # the daily retention run (storage/retention.py), in one worker at a time too
        retention = RetentionJob(
            self.sessions,
            retention_days=self.settings.retention_days,
            clock=self.deps.clock,
            files_root=self.settings.data_dir,  # attachment files go with their rows
        )
        self._tasks.append(
            asyncio.create_task(
                run_as_singleton(
                    self.sessions, "retention", retention.run_forever, self._stop, holder=holder
                )
            )
        )
        # proactive order notifications, when on (docs/notifications.md)
        if self.settings.notify_enabled:
            from notifications.runner import NotificationRunner

            notifier = NotificationRunner(
                sessions=self.sessions,
                store=self.store,
                settings=self.settings,
                on_queued=self.outbox.notify,
                bus=self.bus,
            )
            self._tasks.append(
                asyncio.create_task(
                    run_as_singleton(
                        self.sessions,
                        "notifications",
                        notifier.run_forever,
                        self._stop,
                        holder=holder,
                    )
                )
            )
        # the email channel's IMAP poller and SMTP receiver, when configured (docs/email.md)
        from channels.email.service import background_jobs

        for name, job in background_jobs(self):
            self._tasks.append(
                asyncio.create_task(
                    run_as_singleton(self.sessions, name, job, self._stop, holder=holder)
                )
            )

    async def close(self) -> None:
        if self._stop is not None and self._tasks:
            self._stop.set()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.bus.close()
        if self.throttle is not None:
            await self.throttle.close()
        if self.http is not None:
            await self.http.aclose()
        # the model's own connection pool and the LLM path's circuit state (agent/llm.py)
        await close_model(self.model)
        if self.runner.llm is not None:
            await self.runner.llm.aclose()
        await self.store.close()
        await self.engine.dispose()


def _build_store(settings: Settings) -> StoreBackend:
    if settings.store_backend == "shopify":
        from commerce.shopify import ShopifyStore

        return ShopifyStore.from_settings(settings)
    from commerce.demo.store import DemoStore, ensure_demo_store

    return DemoStore.open(ensure_demo_store(settings))


def _build_knowledge(settings: Settings, embedder: Any) -> Any:
    from knowledge.base import build_knowledge_base

    kb = build_knowledge_base(settings, embedder)
    report = kb.ensure_demo() if settings.demo else None
    if report is not None:
        log.info("ingested the demo help center: %s chunks", report.chunks_added)
    return kb


def build_triager(embedder: Any, cache_dir: Path | None, *, intents: Any = None) -> Triager:
    """Triage with the offline engine's intent reader (a new one when none is given)."""
    if intents is None:
        from agent.local.intents import IntentClassifier

        intents = IntentClassifier(embedder, cache_dir=cache_dir)
    return Triager(embedder, intents=intents, cache_dir=cache_dir)


def _release_free_memory() -> None:
    """Start-up embeds hundreds of examples and help-center chunks in batches; glibc keeps the
    freed activation buffers. Handing them back keeps a small store's server lean."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


async def build_services(
    settings: Settings | None = None,
    *,
    embedder: Any = None,
    model: BaseChatModel | None = None,
    store: StoreBackend | None = None,
    knowledge: KnowledgeSearch | None = None,
    clock: Callable[[], datetime] | None = None,
    triager: Triager | None = None,
    http: httpx.AsyncClient | None = None,
    sessions: async_sessionmaker[AsyncSession] | None = None,
) -> Services:
    """Builds everything once per process. Tests pass their own doubles for any part;
    `sessions` replaces the database's (the email dry run's, inside one rolled-back transaction)."""
    settings = settings or Settings()
    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    await upgrade(engine)
    sessions = sessions or make_sessionmaker(engine)
    if embedder is None:
        from knowledge.embedder import MiniLMEmbedder

        embedder = MiniLMEmbedder(backend=settings.embedder)
    if store is None:
        store = await asyncio.to_thread(_build_store, settings)
    if knowledge is None:
        knowledge = await asyncio.to_thread(_build_knowledge, settings, embedder)
    if model is None:
        model = make_chat_model(settings, embedder=embedder)
    warm = getattr(getattr(model, "intents", None), "warm", None)
    if warm is not None:
        await asyncio.to_thread(warm)
    if triager is None:
        # the engine's intent reader sets the category, so a ticket agrees with the engine
        intents = getattr(model, "intents", None)
        triager = build_triager(embedder, settings.data_dir / "cache", intents=intents)
        await asyncio.to_thread(triager.warm)
    # the help center ranks passages with the same intent reading (knowledge.types.TopicReader)
    use_topics = getattr(knowledge, "use_topics", None)
    if use_topics is not None and getattr(triager, "intents", None) is not None:
        use_topics(triager.intents)
    if getattr(model, "intents", None) is not None:  # the offline engine's help-center quotes
        from agent.local.passages import warm_help_center

        embed = model.intents.embedder.embed
        await asyncio.to_thread(warm_help_center, knowledge, embed, settings.data_dir / "cache")
    http = http or httpx.AsyncClient(timeout=settings.helpdesk_timeout_s)
    outbox = OutboxWorker(
        sessions,
        build_connectors(settings, http),
        policy=RetryPolicy(
            base_s=settings.outbox_base_delay_s,
            cap_s=settings.outbox_max_delay_s,
            max_attempts=settings.outbox_max_attempts,
        ),
        poll_interval_s=settings.outbox_poll_s,
        senders={
            EMAIL_SEND: SmtpSender(settings),  # the email channel's replies, notifications
            SMS_SEND: SmsWebhookSender(settings, http),  # notification texts (signed webhook)
        },
    )
    tools = default_tools()
    throttle = build_throttle(
        sessions=sessions,
        secret=settings.secret_key.get_secret_value().encode(),
        redis_url=settings.redis_url,
        clock=(lambda: clock().timestamp()) if clock is not None else time.time,
    )
    deps = ToolDeps(
        settings=settings,
        store=store,
        knowledge=knowledge,
        sessions=sessions,
        policy=load_policy(settings.policy_path),
        throttle=throttle,
        triage=lambda text: triager.triage(text).as_dict(),
        on_escalation=outbox.notify,
    )
    if clock is not None:
        deps = replace(deps, clock=clock)
    llm = None
    if settings.llm_provider != "local":  # limits, fallback and guards around the model
        from agent.llm_fallback import build_llm_path
        from agent.prompting import system_prompt

        prompt = system_prompt(store_name=settings.store_name, policy=deps.policy)
        llm = await build_llm_path(
            settings,
            tools,
            system_prompt=prompt,
            embedder=embedder,
            policy=deps.policy,
            intents=getattr(triager, "intents", None),  # one intent reader for both
        )
    graph = build_graph(
        model,
        tools,
        store_name=settings.store_name,
        policy=deps.policy,
        middleware=llm.middleware if llm is not None else (),
    )
    bus = make_bus(settings.redis_url, prefix=settings.redis_bus_prefix)
    runner = Runner(
        deps=deps,
        graph=graph,
        tools=tools,
        llm=llm,
        announce=partial(announce, bus),
        # the offline engine decides a whole reply at once: nothing to stream token by token
        live_tokens=not isinstance(model, LocalChatModel),
    )
    _release_free_memory()
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        knowledge=knowledge,
        embedder=embedder,
        model=model,
        tools=tools,
        runner=runner,
        deps=deps,
        bus=bus,
        outbox=outbox,
        http=http,
        throttle=throttle,
        # message and connection rates in memory when this process is the only one counting
        rates=ChatRates(
            settings,
            build_rate_throttle(
                throttle,
                secret=settings.secret_key.get_secret_value().encode(),
                redis_url=settings.redis_url,
                clock=(lambda: clock().timestamp()) if clock is not None else time.time,
            ),
        ),
    )
