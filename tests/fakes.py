"""Test doubles: a scripted chat model that asserts and a canned help center, here; the tiny
in-memory store in tests/memory_store.py and tests/tiny_store.py, re-exported so that
`from tests.fakes import MemoryStore, NOW` keeps working. A test that reaches a real model
provider fails."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from commerce.models import Resolution, ReturnLine
from knowledge.types import Passage, SearchResult
from tests.memory_store import MemoryStore, kind_of
from tests.tiny_store import NOW, tiny_products, tiny_store_data

__all__ = [
    "NOW",
    "RETURNS",
    "CannedKnowledge",
    "MemoryStore",
    "Resolution",
    "ReturnLine",
    "ScriptedChatModel",
    "calls",
    "kind_of",
    "says",
    "tiny_products",
    "tiny_store_data",
]

# ---- model -------------------------------------------------------------------------------------


class ScriptedChatModel(BaseChatModel):
    """Replies with the queued AIMessages in order, records what it was shown, and fails the test
    when called once too often or (via assert_complete) not often enough."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: list[AIMessage]
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **_: Any) -> ScriptedChatModel:  # type: ignore[override]
        self.bound_tools = [getattr(t, "name", None) or t["name"] for t in tools]
        return self  # the same object, so the test sees calls and the remaining script

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        self.calls.append(list(messages))
        if not self.script:
            raise AssertionError(f"model called {len(self.calls)} times; the script ran out")
        return self.script.pop(0)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        yield from _as_chunks(self._next(messages))

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in _as_chunks(self._next(messages)):
            if run_manager and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def assert_complete(self) -> None:
        assert not self.script, f"{len(self.script)} scripted replies were never requested"


def _as_chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    calls = [
        {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
        for i, c in enumerate(message.tool_calls)
    ]
    yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=calls))
    for word in re.findall(r"\S+\s*|\s+", str(message.content)):
        yield ChatGenerationChunk(message=AIMessageChunk(content=word))


def says(text: str) -> AIMessage:
    return AIMessage(content=text)


def calls(name: str, _id: str = "call_1", **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": _id}])


# ---- knowledge ---------------------------------------------------------------------------------

RETURNS = Passage(
    id="returns#0",
    title="Returns",
    heading="Return window",
    text="You can return unworn items within 30 days of delivery.",
    score=0.71,
    source="returns.md",
)


class CannedKnowledge:
    """Answers questions about returns; knows nothing else."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def search(self, query: str, k: int = 4) -> SearchResult:
        self.queries.append(query)
        if "return" in query.lower():
            return SearchResult(query, [RETURNS], answerable=True, confidence=0.8)
        weak = Passage(
            id="hours#0",
            title="Contact",
            heading="",
            text="We answer Mon-Fri.",
            score=0.12,
            source="contact.md",
        )
        return SearchResult(query, [weak], answerable=False, confidence=0.1)

    def ping(self) -> bool:
        return True
