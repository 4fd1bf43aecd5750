"""The agent's tools. Each module is one domain; `default_tools()` is the set the agent gets."""

from __future__ import annotations

from langchain_core.tools import BaseTool


def default_tools() -> list[BaseTool]:
    from tools.escalation import escalate_to_human
    from tools.identity import verify_customer
    from tools.knowledge import search_help_center
    from tools.orders import get_order

    return [verify_customer, get_order, search_help_center, escalate_to_human]
