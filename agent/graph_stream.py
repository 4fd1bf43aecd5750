"""One turn's run of the agent graph as the runner's events: tool statuses, reply tokens (live
from a model, cut from the reply for the offline engine) and the handoff; every message the graph
adds is appended to `out`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool

from agent.events import Escalated, Token, ToolStatus, TurnEvent
from agent.guardrails import ReplyLinkStream
from agent.local.engine import word_chunks
from tools.base import tool_label
from tools.context import SupportContext

RECURSION_LIMIT = 16


async def stream_events(
    graph: Any,
    history: list[BaseMessage],
    ctx: SupportContext,
    out: list[BaseMessage],
    links: ReplyLinkStream,
    tools: list[BaseTool],
    *,
    live: bool,
) -> AsyncIterator[TurnEvent]:
    stream = graph.astream(
        {"messages": history},
        context=ctx,
        config={"recursion_limit": RECURSION_LIMIT},
        stream_mode=["messages", "updates"] if live else ["updates"],
    )
    async for mode, data in stream:
        if mode == "messages":
            chunk, meta = data
            if meta.get("langgraph_node") != "model" or not isinstance(chunk, AIMessageChunk):
                continue
            for call in chunk.tool_call_chunks or []:
                if call.get("name"):
                    label = tool_label(call["name"], tools)
                    yield ToolStatus(call["name"], "started", label)
            if chunk.text and (safe := links.feed(chunk.text)):
                yield Token(safe)
            continue
        for update in data.values():
            for message in (update or {}).get("messages", []):
                out.append(message)
                if isinstance(message, AIMessage) and not live:
                    for call in message.tool_calls:
                        label = tool_label(call["name"], tools)
                        yield ToolStatus(call["name"], "started", label)
                    for piece in word_chunks(message.text):
                        if safe := links.feed(piece):
                            yield Token(safe)
                if isinstance(message, ToolMessage):
                    if message.name != "search_help_center":  # store data, not help text
                        links.learn(str(message.content))
                    else:  # a help center's own domain (knowledge/links.py own_host)
                        for host in {p.own_host for p in ctx.offered if p.own_host}:
                            links.trust_own(host)
                    status = "failed" if message.status == "error" else "finished"
                    name = message.name or ""
                    yield ToolStatus(name, status, tool_label(name, tools))
                    if name == "escalate_to_human" and ctx.escalation:
                        yield Escalated(*ctx.escalation)
    if tail := links.flush():  # the last word, held back in case it was a link
        yield Token(tail)
