"""The agent graph: LangChain's create_agent over any chat model and the support tools."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool

from agent.prompting import render_prompt
from tools.context import SupportContext


def build_graph(model: BaseChatModel, tools: list[BaseTool], *, store_name: str) -> Any:
    prompt = render_prompt(
        "system", store_name=store_name, today=datetime.now(UTC).date().isoformat()
    )
    return create_agent(model, tools, system_prompt=prompt, context_schema=SupportContext)
