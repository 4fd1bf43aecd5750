"""The composition root: the only place that chooses concrete backends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agent.graph import build_graph
from agent.llm import make_chat_model
from agent.runner import Runner
from bus import Bus, LocalBus
from commerce.backend import StoreBackend
from settings import Settings
from storage.engine import make_engine, make_sessionmaker
from storage.migrate import upgrade
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

    async def close(self) -> None:
        await self.store.close()
        await self.engine.dispose()


def _build_store(settings: Settings) -> StoreBackend:
    from commerce.demo.store import DemoStore, ensure_demo_store

    return DemoStore.open(ensure_demo_store(settings))


def _build_knowledge(settings: Settings, embedder: Any) -> Any:
    from knowledge.base import build_knowledge_base

    kb = build_knowledge_base(settings, embedder)
    report = kb.ensure_demo() if settings.demo else None
    if report is not None:
        log.info("ingested the demo help center: %s chunks", report.chunks_added)
    return kb


async def build_services(
    settings: Settings | None = None,
    *,
    embedder: Any = None,
    model: BaseChatModel | None = None,
    store: StoreBackend | None = None,
    knowledge: KnowledgeSearch | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Services:
    """Builds everything once per process. Tests pass their own doubles for any part."""
    settings = settings or Settings()
    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    await upgrade(engine)
    sessions = make_sessionmaker(engine)
    if embedder is None:
        from knowledge.embedder import MiniLMEmbedder

        embedder = MiniLMEmbedder()
    if store is None:
        store = await asyncio.to_thread(_build_store, settings)
    if knowledge is None:
        knowledge = await asyncio.to_thread(_build_knowledge, settings, embedder)
    if model is None:
        model = make_chat_model(settings, embedder=embedder)
    warm = getattr(getattr(model, "intents", None), "warm", None)
    if warm is not None:
        await asyncio.to_thread(warm)
    tools = default_tools()
    from commerce.policy import load_policy

    deps = ToolDeps(settings=settings, store=store, knowledge=knowledge, sessions=sessions,
                    policy=load_policy(settings.policy_path))
    if clock is not None:
        deps = replace(deps, clock=clock)
    graph = build_graph(model, tools, store_name=settings.store_name)
    runner = Runner(deps=deps, graph=graph, tools=tools)
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
        bus=LocalBus(),
    )
