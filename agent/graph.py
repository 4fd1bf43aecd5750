"""The agent graph: LangChain's create_agent over any chat model and the support tools."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from agent.prompting import system_prompt
from commerce.policy import StorePolicy
from tools.context import SupportContext


def build_graph(
    model: BaseChatModel,
    tools: list[BaseTool],
    *,
    store_name: str,
    policy: StorePolicy | None = None,
    middleware: Sequence[Any] = (),  # the LLM path's per-turn limits (agent/llm_budget.py)
) -> Any:
    prompt = system_prompt(store_name=store_name, policy=policy)
    return create_agent(
        model,
        tools,
        system_prompt=prompt,
        context_schema=SupportContext,
        middleware=list(middleware),
    )
