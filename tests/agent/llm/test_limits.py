"""Limits of the model path: model calls and tool calls per turn, tokens per conversation, the
store's daily cost; over one, a person takes over (never an error). Usage and cost rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from storage.tables import AuditEntry, PendingAction
from storage.tables_llm import ModelUsage
from tests.agent.llm.conftest import call
from tests.agent.llm.fake_server import ScriptedOpenAI
from tests.agent.llm.test_tool_loop import RETURN_CALL, VERIFY, turn
from tests.fakes import NOW


async def services_with(make_services: Any, llm_settings: Any, **limits: Any) -> Any:
    from tests.fakes import NOW as now

    return await make_services(settings=llm_settings.model_copy(update=limits), clock=lambda: now)


async def usage(services: Any) -> list[tuple[Any, ...]]:
    async with services.sessions() as session:
        rows = await session.execute(
            select(
                ModelUsage.conversation_id,
                ModelUsage.model,
                ModelUsage.prompt_tokens,
                ModelUsage.completion_tokens,
                ModelUsage.cost,
                ModelUsage.day,
            ).order_by(ModelUsage.id)
        )
        return [tuple(r) for r in rows.all()]


async def handoffs(services: Any) -> list[str]:
    async with services.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry.decision).where(AuditEntry.tool == "llm_path")
        )
        return list(rows.all())


async def test_usage_and_cost_are_recorded_per_call(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [
        {"tool_calls": [VERIFY], "usage": {"prompt_tokens": 1000, "completion_tokens": 20}},
        {"text": "You're verified.", "usage": {"prompt_tokens": 1200, "completion_tokens": 500}},
    ]
    result = await turn(llm_services, "#1002 ada@example.com")
    rows = await usage(llm_services)
    assert [(r[0], r[2], r[3]) for r in rows] == [
        (result.conversation_id, 1000, 20),
        (result.conversation_id, 1200, 500),
    ]
    assert all(r[1].startswith("gpt-4o-mini") and r[5] == NOW.date() for r in rows)
    # gpt-4o-mini in the packaged table: $0.15 / $0.60 per million tokens
    assert rows[1][4] == Decimal("0.000480")  # (1200 * 0.15 + 500 * 0.60) / 1e6
    assert rows[0][4] == Decimal("0.000162")


async def test_too_many_model_calls_hand_over(
    make_services: Any, llm_settings: Any, fake_openai: ScriptedOpenAI
) -> None:
    services = await services_with(make_services, llm_settings, llm_max_model_calls=2)
    fake_openai.script = [
        {"tool_calls": [VERIFY]},
        {"tool_calls": [call("get_order", "call_2", order_number="#1002")]},
        {"text": "never asked for"},
    ]
    result = await turn(services, "#1002 ada@example.com, where is it?")
    assert len(fake_openai.requests) == 2
    assert result.owner == "queued" and result.escalation is not None
    assert "passed this conversation to our support team" in result.text
    assert await handoffs(services) == ["handoff:model_calls"]
    assert len(await usage(services)) == 2  # the calls made are still counted


async def test_too_many_tool_calls_stop_before_any_runs(
    make_services: Any, llm_settings: Any, fake_openai: ScriptedOpenAI
) -> None:
    services = await services_with(make_services, llm_settings, llm_max_tool_calls=2)
    second = {**RETURN_CALL, "id": "call_3"}
    fake_openai.script = [
        {"tool_calls": [VERIFY]},
        {"tool_calls": [RETURN_CALL, second]},
    ]
    result = await turn(services, "return my trail runners from #1002, ada@example.com")
    fake_openai.assert_complete()
    assert [c.name for c in result.tool_calls] == ["verify_customer", "escalate_to_human"]
    async with services.sessions() as session:
        assert (await session.scalars(select(PendingAction.id))).all() == []
    assert result.owner == "queued"
    assert await handoffs(services) == ["handoff:tool_calls"]


async def test_a_spent_token_budget_hands_over_without_a_call(
    make_services: Any, llm_settings: Any, fake_openai: ScriptedOpenAI
) -> None:
    services = await services_with(make_services, llm_settings, llm_conversation_tokens=1000)
    fake_openai.script = [
        {"text": "Hello!", "usage": {"prompt_tokens": 900, "completion_tokens": 150}}
    ]
    first = await turn(services, "hello there")
    assert first.text == "Hello!"
    second = await turn(services, "how long does shipping take?", first.conversation_id)
    assert len(fake_openai.requests) == 1  # the budget was spent: no second call
    assert second.owner == "queued"
    assert await handoffs(services) == ["handoff:token_budget"]


async def test_the_daily_cost_cap_hands_over_without_a_call(
    make_services: Any, llm_settings: Any, fake_openai: ScriptedOpenAI
) -> None:
    services = await services_with(make_services, llm_settings, llm_daily_cost_cap=1.0)
    async with services.sessions.begin() as session:  # other conversations spent the day's cap
        session.add(
            ModelUsage(
                conversation_id="other",
                model="gpt-4o",
                prompt_tokens=1,
                completion_tokens=1,
                cost=Decimal("1.25"),
                day=NOW.date(),
            )
        )
        session.add(  # yesterday's spending does not count
            ModelUsage(
                conversation_id="old",
                model="gpt-4o",
                prompt_tokens=1,
                completion_tokens=1,
                cost=Decimal("9"),
                day=date(2000, 1, 1),
            )
        )
    fake_openai.script = [{"text": "never asked for"}]
    result = await turn(services, "how long does shipping take?")
    assert fake_openai.requests == [] and result.owner == "queued"
    assert await handoffs(services) == ["handoff:daily_cost_cap"]


async def test_under_the_cap_the_model_answers(
    make_services: Any, llm_settings: Any, fake_openai: ScriptedOpenAI
) -> None:
    services = await services_with(make_services, llm_settings, llm_daily_cost_cap=1.0)
    async with services.sessions.begin() as session:
        session.add(
            ModelUsage(
                conversation_id="other",
                model="gpt-4o",
                prompt_tokens=1,
                completion_tokens=1,
                cost=Decimal("0.99"),
                day=NOW.date(),
            )
        )
    fake_openai.script = [{"text": "Shipping takes 3-5 days."}]
    result = await turn(services, "how long does shipping take?")
    assert result.text == "Shipping takes 3-5 days." and result.owner == "bot"
