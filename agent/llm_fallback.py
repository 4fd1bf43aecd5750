"""The model path of a turn when a provider is configured: everything around the model call
that keeps the turn answered and never less safe than the offline engine.

In order: input guards (agent/guards_input.py; a tripped one answers without the model); the
standing budgets (conversation tokens, the store's daily cost); the circuit breaker
(agent/llm_circuit.py); the graph with per-turn limits (agent/llm_budget.py). Then:
- a per-turn limit or a spent budget: the conversation goes to a person;
- the provider fails (HTTP error, timeout, a cut stream, a body that is not JSON, an empty
  reply): the failure is counted and the same turn is answered by the offline engine, which
  reads the conversation's state from the database like any turn; if that fails too (or there
  is none), the conversation goes to a person;
- otherwise the reply passes the output guards (agent/guards_output.py) and a tripped one
  replaces it.
Usage of every model call is stored (model_usage) whatever the outcome; every fallback, handoff
and tripped guard becomes an audit row (tool "llm_path", decision = why) written with the
turn's commit. Tools, the confirmation gate and ownership checks are the graph's, shared with
the offline engine: nothing here relies on the model behaving.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import BaseTool

import metrics
from agent.confirmation import say
from agent.events import Escalated, Token, TokenReset, TurnEvent
from agent.guardrails import ReplyLinkStream
from agent.guards_input import PASTE_CHARS, check_input
from agent.guards_output import check_reply, reply_facts, tool_definitions
from agent.llm_budget import LimitReached, PriceTable, TurnLimits, over_budget, start_turn
from agent.llm_circuit import CircuitBreaker, build_circuit
from agent.prompting import model_view
from errors import ToolError
from settings import Settings
from tools.context import SupportContext, ToolCallRecord
from tools.escalation import escalate

log = logging.getLogger(__name__)

StreamGraph = Callable[..., AsyncIterator[TurnEvent]]
UNAVAILABLE = (
    "I'm sorry, I can't answer right now. Please try again in a moment, or ask for a member of "
    "our team."
)


class LLMPath:
    def __init__(
        self,
        *,
        settings: Settings,
        tools: Sequence[BaseTool],
        system_prompt: str,
        fallback_graph: Any = None,
        prices: PriceTable | None = None,
        circuit: CircuitBreaker | None = None,
        intents: Any = None,
    ) -> None:
        self._settings = settings
        self._tools = list(tools)
        self._echo_source = system_prompt + "\n" + tool_definitions(tools)
        self.fallback_graph = fallback_graph
        self.prices = prices or PriceTable.load(settings.llm_price_table)
        self.circuit = circuit or build_circuit(settings)
        # the offline engine's intent reader: the off-topic guard uses its out-of-scope decision
        self.intents = intents
        self.middleware = [TurnLimits()]
        self.counts: Counter[str] = Counter()  # outcome -> turns, for tests and the log

    async def run(
        self,
        stream_graph: StreamGraph,
        history: list[BaseMessage],
        ctx: SupportContext,
        out: list[BaseMessage],
        links: ReplyLinkStream,
    ) -> AsyncIterator[TurnEvent]:
        """One turn; appends its messages to `out` (the last AIMessage is the reply)."""
        guard = check_input(ctx.customer_text, reading=await self._reading(ctx.customer_text))
        if guard.tripped:
            self._note(ctx, f"input:{guard.reason}", guard.summary)
            out.append(AIMessage(guard.text))
            return
        today = ctx.deps.clock().astimezone(UTC).date()
        async with ctx.deps.sessions() as session:
            spent = await over_budget(
                session, self._settings, conversation_id=ctx.conversation_id, day=today
            )
        if spent:
            async for event in self._handoff(ctx, out, spent):
                yield event
            return
        if not await self.circuit.allow():
            async for event in self._fallback(stream_graph, history, ctx, out, links, "circuit"):
                yield event
            return
        count = start_turn(self._settings)
        failure: str | None = None
        streamed = False  # tokens of the model's reply reached the customer already
        try:
            async for event in stream_graph(model_view(history, ctx.channel), ctx, out, links):
                streamed = streamed or isinstance(event, Token)
                yield event
            if not _reply_text(out):
                failure = "empty_reply"
        except LimitReached as exc:
            await self.circuit.success()  # the provider answered; the turn asked too much of it
            await self._record_usage(ctx, count.replies, today)
            if streamed:
                yield TokenReset()
            async for event in self._handoff(ctx, out, exc.reason):
                yield event
            return
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except Exception as exc:
            log.warning("model call failed in %s: %r", ctx.conversation_id, exc)
            failure = _failure_name(exc)
        await self._record_usage(ctx, count.replies, today)
        if failure is not None:
            await self.circuit.failure()
            if streamed:  # the widget drops the half-written reply before the fallback's
                yield TokenReset()
            async for event in self._fallback(stream_graph, history, ctx, out, links, failure):
                yield event
            return
        await self.circuit.success()
        await self._guard_reply(ctx, out, history)
        self.counts["model"] += 1

    async def _reading(self, text: str) -> Any:
        """The intent classifier's reading of an English message of chat size, else None."""
        if self.intents is None or len(text) > PASTE_CHARS:
            return None
        from agent.local.understand import language_of

        if language_of(text) != "en":
            return None
        try:
            return await asyncio.to_thread(self.intents.classify, text)
        except Exception:  # the guard then works without it; the turn goes on
            log.exception("the intent reading for the input guard failed")
            return None

    async def aclose(self) -> None:
        """At shutdown: the circuit breaker's connection to its shared state."""
        await self.circuit.aclose()

    # ---- outcomes ---------------------------------------------------------------------------

    async def _fallback(
        self,
        stream_graph: StreamGraph,
        history: list[BaseMessage],
        ctx: SupportContext,
        out: list[BaseMessage],
        links: ReplyLinkStream,
        why: str,
    ) -> AsyncIterator[TurnEvent]:
        """The offline engine answers this turn; what the model left half done is dropped (its
        tools' effects are in the database already, where the engine reads them)."""
        del out[:]
        links.reset()
        self.counts[f"fallback:{why}"] += 1
        self._note(ctx, f"fallback:{why}", f"the model provider failed ({why})")
        if self.fallback_graph is None:
            async for event in self._handoff(ctx, out, f"provider_{why}"):
                yield event
            return
        try:
            async for event in stream_graph(history, ctx, out, links, graph=self.fallback_graph):
                yield event
        except Exception:
            log.exception("the offline fallback failed in %s", ctx.conversation_id)
            del out[:]
            async for event in self._handoff(ctx, out, f"provider_{why}"):
                yield event

    async def _handoff(
        self, ctx: SupportContext, out: list[BaseMessage], why: str
    ) -> AsyncIterator[TurnEvent]:
        del out[:]
        self.counts[f"handoff:{why}"] += 1
        self._note(ctx, f"handoff:{why}", f"the model path stopped: {why}")
        try:
            data = await escalate(ctx, "other", f"The assistant stopped ({why}); please take over.")
            text = say("handoff_already" if data["already"] else "handoff", notice=data["notice"])
            ok = True
        except ToolError:
            text, ok = UNAVAILABLE, False
        ctx.tool_calls.append(
            ToolCallRecord("escalate_to_human", {"reason": "other", "trigger": why}, ok=ok)
        )
        if ctx.escalation:
            yield Escalated(*ctx.escalation)
        out.append(AIMessage(text, response_metadata={"llm_path": why}))

    async def _guard_reply(
        self, ctx: SupportContext, out: list[BaseMessage], history: list[BaseMessage]
    ) -> None:
        final = _final(out)
        if final is None:
            return
        text = str(final.content)
        facts = await reply_facts(
            text,
            ctx,
            system_prompt=self._echo_source,
            tools=self._tools,
            customer_texts=[m.text for m in history if isinstance(m, HumanMessage)],
        )
        result = check_reply(text, facts)
        if result.tripped:
            log.warning("reply replaced in %s: %s", ctx.conversation_id, result.summary)
            self.counts[f"guard:{result.reason}"] += 1
            self._note(ctx, f"output:{result.reason}", result.summary)
            final.content = result.text

    async def _record_usage(self, ctx: SupportContext, replies: list[AIMessage], day: Any) -> None:
        from agent.llm_budget import usage_rows

        rows = usage_rows(
            replies,
            conversation_id=ctx.conversation_id,
            model=self._settings.openai_model,
            day=day,
            prices=self.prices,
        )
        if rows:
            async with ctx.deps.sessions.begin() as session:
                session.add_all(rows)

    def _note(self, ctx: SupportContext, decision: str, summary: str) -> None:
        """An audit row for the turn's commit and a metric: why the model's turn went another
        way (`fallback:http_500`, `handoff:tool_calls`, `output:unbacked_claim`, ...)."""
        outcome, _, why = decision.partition(":")
        metrics.model_path(outcome, why)
        ctx.pending_audit.append(
            {
                "conversation_id": ctx.conversation_id,
                "actor": "bot",
                "tool": "llm_path",
                "kind": "read",
                "args": {"at": datetime.now(UTC).isoformat()},
                "ok": False,
                "decision": decision[:50],
                "result": summary,
            }
        )


def _final(out: list[BaseMessage]) -> AIMessage | None:
    return next((m for m in reversed(out) if isinstance(m, AIMessage) and not m.tool_calls), None)


def _reply_text(out: list[BaseMessage]) -> str:
    final = _final(out)
    return str(final.content).strip() if final is not None else ""


def _failure_name(exc: Exception) -> str:
    """A short label for the counter: timeout, connection, http_500, bad_response, error."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        return f"http_{exc.status_code}"
    if isinstance(exc, ValueError):  # a body that is not JSON, an unparseable chunk
        return "bad_response"
    return "error"


async def build_llm_path(
    settings: Settings,
    tools: Sequence[BaseTool],
    *,
    system_prompt: str,
    embedder: Any,
    policy: Any = None,
    intents: Any = None,
) -> LLMPath:
    """With the offline engine as the fallback (warmed here, off the event loop)."""
    from agent.graph import build_graph
    from agent.llm import make_local_model

    fallback = make_local_model(settings, embedder=embedder, intents=intents)
    warm = getattr(getattr(fallback, "intents", None), "warm", None)
    if warm is not None:
        await asyncio.to_thread(warm)
    graph = build_graph(fallback, list(tools), store_name=settings.store_name, policy=policy)
    return LLMPath(
        settings=settings,
        tools=tools,
        system_prompt=system_prompt,
        fallback_graph=graph,
        intents=getattr(fallback, "intents", None),
    )
