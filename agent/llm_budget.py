"""Limits of the model path: per turn (model calls, tool calls), per conversation (tokens) and
per store and day (cost). Over any of them the turn goes to a person (agent/llm_fallback.py)
instead of failing or spending on.

Per-turn limits are counted by `TurnLimits`, an agent middleware around each model call: it
refuses the call past `max_model_calls`, and refuses a reply whose tool calls would pass
`max_tool_calls` before any of those tools runs. The count lives in a context variable that the
LLM path sets for the turn, so one compiled graph serves every conversation. Usage is what the
provider reports, priced from a YAML table (agent/prompts/prices.yaml, or
SUPPORT_LLM_PRICE_TABLE) and stored per call in `model_usage`, which the conversation budget
and the daily cap read back.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from settings import Settings
from storage.tables_llm import ModelUsage

MILLION = Decimal(1_000_000)


class LimitReached(Exception):
    """A per-turn limit was reached; `reason` names it (model_calls, tool_calls)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class TurnCount:
    max_model_calls: int
    max_tool_calls: int
    model_calls: int = 0
    tool_calls: int = 0
    replies: list[AIMessage] = field(default_factory=list)  # every model reply, for usage


_turn: contextvars.ContextVar[TurnCount | None] = contextvars.ContextVar("llm_turn", default=None)


def start_turn(settings: Settings) -> TurnCount:
    count = TurnCount(settings.llm_max_model_calls, settings.llm_max_tool_calls)
    _turn.set(count)
    return count


class TurnLimits(AgentMiddleware):
    """Counts model and tool calls of the current turn; raises LimitReached past a limit."""

    async def awrap_model_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        count = _turn.get()
        if count is None:  # not inside an LLM-path turn (a test driving the graph directly)
            return await handler(request)
        if count.model_calls >= count.max_model_calls:
            raise LimitReached("model_calls")
        while True:
            if count.model_calls >= count.max_model_calls:
                raise LimitReached("model_calls")
            count.model_calls += 1
            response = await handler(request)
            reply = next(
                (m for m in getattr(response, "result", None) or [] if isinstance(m, AIMessage)),
                None,
            )
            if reply is None:
                return response
            if not reply.usage_metadata:
                reply.usage_metadata = _estimated_usage(request, reply)
            count.replies.append(reply)
            count.tool_calls += len(reply.tool_calls) + len(reply.invalid_tool_calls)
            if count.tool_calls > count.max_tool_calls:
                raise LimitReached("tool_calls")
            if not reply.invalid_tool_calls:
                return response
            # arguments that are not JSON: the model gets a ToolMessage per broken call and
            # another try (counted like any call), instead of the turn ending on an empty reply
            request = request.override(
                messages=[*request.messages, *_invalid_calls_answered(reply)]
            )


def _estimated_usage(request: Any, reply: AIMessage) -> Any:
    """A server that reports no usage (llama.cpp's does not when streaming) is charged an
    estimate (system prompt, messages and tool definitions), so the token budget and the cost
    cap still count its calls."""
    system = [request.system_message] if getattr(request, "system_message", None) else []
    prompt = count_tokens_approximately(
        [*system, *request.messages], tools=list(request.tools or []) or None
    )
    completion = count_tokens_approximately([reply])
    return {
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _invalid_calls_answered(reply: AIMessage) -> list[BaseMessage]:
    calls = [
        {"name": c.get("name") or "unknown", "args": {}, "id": c.get("id") or f"invalid_{i}"}
        for i, c in enumerate(reply.invalid_tool_calls)
    ]
    valid = [{"name": c["name"], "args": c["args"], "id": c["id"]} for c in reply.tool_calls]
    asked = AIMessage(content=reply.content, tool_calls=[*valid, *calls])
    answers: list[BaseMessage] = [
        ToolMessage(
            f"Not run: another call in the same reply had invalid arguments. Call {c['name']} "
            "again if you still need it.",
            tool_call_id=c["id"],
            name=c["name"],
            status="error",
        )
        for c in valid
    ]
    answers += [
        ToolMessage(
            f"Error: the arguments of {c['name']} were not valid JSON. Call it again with a "
            "JSON object that matches its parameters.",
            tool_call_id=c["id"],
            name=c["name"],
            status="error",
        )
        for c in calls
    ]
    return [asked, *answers]


@dataclass(frozen=True)
class Price:
    input: Decimal
    output: Decimal


class PriceTable:
    def __init__(self, prices: dict[str, Price]) -> None:
        self._prices = prices

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        if path is None:
            raw = resources.files("agent").joinpath("prompts", "prices.yaml").read_text("utf-8")
        else:
            raw = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(raw) or {}
        prices = {
            str(model): Price(Decimal(str(p.get("input", 0))), Decimal(str(p.get("output", 0))))
            for model, p in data.items()
        }
        return cls(prices)

    def price(self, model: str) -> Price:
        """The entry whose name is the longest prefix of `model`, else `default`, else free."""
        best = max((m for m in self._prices if model.startswith(m)), key=len, default=None)
        if best is None:
            return self._prices.get("default", Price(Decimal(0), Decimal(0)))
        return self._prices[best]

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
        p = self.price(model)
        return (p.input * prompt_tokens + p.output * completion_tokens) / MILLION


def usage_rows(
    messages: Iterable[BaseMessage],
    *,
    conversation_id: str,
    model: str,
    day: date,
    prices: PriceTable,
) -> list[ModelUsage]:
    """One row per model reply that carries usage (providers report it per call)."""
    rows = []
    for message in messages:
        usage = getattr(message, "usage_metadata", None) or {}
        prompt = int(usage.get("input_tokens") or 0)
        completion = int(usage.get("output_tokens") or 0)
        if not (prompt or completion):
            continue
        name = str((message.response_metadata or {}).get("model_name") or model)
        rows.append(
            ModelUsage(
                conversation_id=conversation_id,
                model=name[:200],
                prompt_tokens=prompt,
                completion_tokens=completion,
                cost=prices.cost(name, prompt, completion),
                day=day,
            )
        )
    return rows


async def conversation_tokens(session: AsyncSession, conversation_id: str) -> int:
    total = func.coalesce(func.sum(ModelUsage.prompt_tokens + ModelUsage.completion_tokens), 0)
    stmt = select(total).where(ModelUsage.conversation_id == conversation_id)
    return int((await session.execute(stmt)).scalar_one())


async def day_cost(session: AsyncSession, day: date) -> Decimal:
    stmt = select(func.coalesce(func.sum(ModelUsage.cost), 0)).where(ModelUsage.day == day)
    return Decimal(str((await session.execute(stmt)).scalar_one()))


async def over_budget(
    session: AsyncSession, settings: Settings, *, conversation_id: str, day: date
) -> str | None:
    """Which standing budget is spent before this turn: token_budget, daily_cost_cap or None."""
    if await conversation_tokens(session, conversation_id) >= settings.llm_conversation_tokens:
        return "token_budget"
    cap = Decimal(str(settings.llm_daily_cost_cap))
    if cap > 0 and await day_cost(session, day) >= cap:
        return "daily_cost_cap"
    return None
