"""LocalChatModel: the offline engine as a LangChain chat model with `bind_tools` and streaming."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.tools import BaseTool
from pydantic import ConfigDict, Field, PrivateAttr

from agent.local.dialogue import decide
from agent.local.intents import IntentClassifier
from agent.local.state import Decision, Known, Persona
from agent.local.understand import prefetch
from commerce.models import OrderNumberFormat

logger = logging.getLogger(__name__)

# a few words per chunk: streamed like an LLM, without a chunk object per word
_WORDS = re.compile(r"(?:\S+\s*){1,6}|\s+")


class LocalChatModel(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    intents: IntentClassifier
    persona: Persona
    tool_names: frozenset[str] = Field(default_factory=frozenset)
    _bound: dict[frozenset[str], LocalChatModel] = PrivateAttr(default_factory=dict)

    @classmethod
    def create(
        cls,
        *,
        embedder: Any,
        store_name: str,
        support_email: str = "support@example.com",
        cache_dir: Path | None = None,
    ) -> LocalChatModel:
        """`cache_dir` keeps the intent examples' embeddings between processes."""
        intents = IntentClassifier(embedder, cache_dir=cache_dir)
        return cls(intents=intents, persona=Persona(store_name, support_email))

    @property
    def _llm_type(self) -> str:
        return "support-agent-local"

    def bind_tools(self, tools: Sequence[Any], **_: Any) -> LocalChatModel:  # type: ignore[override]
        """The model for this tool set, made once: the agent binds its tools on every model
        step, and a fresh copy each time was serialised again for LangChain's callbacks."""
        names = frozenset(t.name if isinstance(t, BaseTool) else t["name"] for t in tools)
        bound = self._bound.get(names)
        if bound is None:
            bound = self.model_copy(update={"tool_names": names})
            bound._bound = self._bound  # copies share one cache (they differ only in tools)
            self._bound[names] = bound
        return bound

    def _decide(
        self,
        messages: list[BaseMessage],
        formats: Sequence[OrderNumberFormat] | None = None,
    ) -> Decision:
        """`formats`: the store's order-number formats, so a street number or a quantity that
        fits none of them is never read as an order (sync calls outside a run have none)."""
        persona = self.persona
        if formats is not None:
            persona = replace(persona, order_formats=tuple(formats))
        return decide(
            messages,
            tools=set(self.tool_names),
            intents=self.intents,
            persona=persona,
            known=_known(),
        )

    async def _prefetch(
        self, messages: list[BaseMessage], formats: Sequence[OrderNumberFormat] | None
    ) -> None:
        """A customer's new message: its embeddings, batched with other turns' (the CPU of
        one sentence in a batch of eight is about half of one alone)."""
        last = messages[-1] if messages else None
        if isinstance(last, HumanMessage) and self.intents is not None:
            await prefetch(str(last.content), self.intents, formats)

    def _message(self, decision: Decision) -> AIMessage:
        metadata = {**decision.metadata, "model_name": self._llm_type}
        if decision.tool:
            call = {"name": decision.tool, "args": decision.args, "id": _call_id()}
            return AIMessage(content="", tool_calls=[call], response_metadata=metadata)
        return AIMessage(content=decision.text or "", response_metadata=metadata)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(
            generations=[ChatGeneration(message=self._message(self._decide(messages)))]
        )

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        formats = await _store_formats()
        await self._prefetch(messages, formats)
        decision = self._decide(messages, formats)
        return ChatResult(generations=[ChatGeneration(message=self._message(decision))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._message(self._decide(messages))
        for chunk in _chunks(message):
            if run_manager and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        formats = await _store_formats()
        await self._prefetch(messages, formats)
        message = self._message(self._decide(messages, formats))
        for chunk in _chunks(message):
            if run_manager and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def _known() -> Known | None:
    """The conversation's server-side state, from the graph's runtime context (the runner's
    SupportContext); None when the model is called outside a graph run."""
    from langgraph.runtime import get_runtime

    try:
        ctx = get_runtime().context
    except (RuntimeError, KeyError, AttributeError):
        return None
    if ctx is None or not hasattr(ctx, "customer_id"):
        return None
    return Known(engine_state=ctx.engine_state, verified=ctx.customer_id is not None)


async def _store_formats() -> list[OrderNumberFormat] | None:
    """The order-number formats of the store behind this run (StoreBackend.order_number_formats,
    read once and cached by the backends); None outside a graph run or when the store cannot
    say, and extraction then reads numbers the generic way."""
    from langgraph.runtime import get_runtime

    try:
        ctx = get_runtime().context
        store = ctx.deps.store
    except (RuntimeError, KeyError, AttributeError):
        return None
    try:
        return list(await store.order_number_formats())
    except Exception:  # a store that is down must not stop the conversation
        logger.warning("order-number formats unavailable; reading numbers generically")
        return None


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:16]}"


def word_chunks(text: str) -> list[str]:
    """A reply cut into pieces of a few words, as a model streams it."""
    return _WORDS.findall(text)


def _chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    if message.tool_calls:
        call = message.tool_calls[0]
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {
                        "name": call["name"],
                        "args": json.dumps(call["args"]),
                        "id": call["id"],
                        "index": 0,
                    }
                ],
            )
        )
    else:
        for piece in word_chunks(str(message.content)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
    yield ChatGenerationChunk(
        message=AIMessageChunk(content="", response_metadata=message.response_metadata)
    )
