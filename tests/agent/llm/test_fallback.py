"""Provider failures through the real client: HTTP 500, a timeout, a stream cut mid-way and a
body that is not JSON are answered by the offline engine in the same turn; the failure is
counted and audited; the circuit breaker stops calling a provider that keeps failing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

import metrics
from agent.llm_circuit import CircuitBreaker
from storage.tables import AuditEntry
from tests.agent.llm.fake_server import ScriptedOpenAI
from tests.agent.llm.test_tool_loop import VERIFY, turn

FALLBACK_REPLY_START = "I'm sorry, something went wrong"


async def decisions(services: Any) -> list[str]:
    async with services.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry.decision).where(AuditEntry.tool == "llm_path")
        )
        return list(rows.all())


@pytest.mark.parametrize(
    ("step", "why"),
    [
        ({"status": 500}, "http_500"),
        ({"status": 429}, "http_429"),
        ({"cut": 2, "text": "Your order is on its way to you"}, "connection"),
        ({"garbage": True}, "bad_response"),
    ],
)
async def test_a_failing_provider_falls_back_to_the_offline_engine(
    step: dict[str, Any], why: str, llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [step]
    counted = metrics._get().registry
    labels = {"outcome": "fallback", "why": why}
    before = counted.get_sample_value("support_model_path_total", labels) or 0
    result = await turn(llm_services, "How long does shipping take?")
    fake_openai.assert_complete()
    assert counted.get_sample_value("support_model_path_total", labels) == before + 1
    assert result.text and not result.text.startswith(FALLBACK_REPLY_START)
    assert result.owner == "bot"
    assert llm_services.runner._llm.counts[f"fallback:{why}"] == 1
    assert await decisions(llm_services) == [f"fallback:{why}"]


async def test_a_timeout_falls_back(
    make_services: Any, llm_settings: Any, fake_openai: ScriptedOpenAI
) -> None:
    services = await make_services(
        settings=llm_settings.model_copy(update={"openai_timeout_s": 0.5})
    )
    fake_openai.script = [{"hang": 3, "text": "too late"}]
    result = await turn(services, "How long does shipping take?")
    assert result.text and not result.text.startswith(FALLBACK_REPLY_START)
    assert await decisions(services) == ["fallback:timeout"]


async def test_the_offline_engine_picks_up_a_verified_conversation(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [
        {"tool_calls": [VERIFY]},
        {"text": "Thanks, you're verified. How can I help?"},
        {"status": 503},
    ]
    first = await turn(llm_services, "Hi, #1002 and ada@example.com")
    second = await turn(llm_services, "Where is order #1001?", first.conversation_id)
    fake_openai.assert_complete()
    assert await decisions(llm_services) == ["fallback:http_503"]
    # no second verification: the engine read the verified customer from the conversation row
    assert "verify_customer" not in [c.name for c in second.tool_calls]
    assert any(c.name in ("get_order", "track_shipment") and c.ok for c in second.tool_calls)
    assert "UPS" in second.text or "1Z999AA10123456784" in second.text


async def test_the_circuit_opens_and_retries_after_the_backoff(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    now = {"t": 1000.0}
    path = llm_services.runner._llm
    path.circuit = CircuitBreaker(failures_to_open=2, base_s=30, max_s=600, clock=lambda: now["t"])
    fake_openai.script = [{"status": 500}, {"status": 500}]
    cid = (await turn(llm_services, "How long does shipping take?")).conversation_id
    await turn(llm_services, "And what about returns?", cid)
    assert await path.circuit.state() == "open" and len(fake_openai.requests) == 2
    third = await turn(llm_services, "Do you ship to Canada?", cid)
    assert len(fake_openai.requests) == 2  # not called while open
    assert third.text and path.counts["fallback:circuit"] == 1
    now["t"] += 31  # the back-off has passed: one trial call, which succeeds
    fake_openai.script = [{"text": "Yes, we ship to Canada."}]
    fourth = await turn(llm_services, "Do you ship to Canada?", cid)
    assert fourth.text == "Yes, we ship to Canada." and await path.circuit.state() == "closed"
    fake_openai.assert_complete()


async def test_a_provider_with_no_fallback_hands_over(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    llm_services.runner._llm.fallback_graph = None
    fake_openai.script = [{"status": 500}]
    result = await turn(llm_services, "How long does shipping take?")
    assert result.owner == "queued" and result.escalation is not None
    assert await decisions(llm_services) == ["fallback:http_500", "handoff:provider_http_500"]
