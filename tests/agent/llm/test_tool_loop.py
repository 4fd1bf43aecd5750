"""The tool loop through the real ChatOpenAI client against the scripted server, the real
runner and tools: verification, reads, the confirmation gate, ownership and tool errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agent.events import Token, ToolStatus, TurnResult
from channels.summary import collect
from storage.tables import PendingAction
from tests.agent.llm.conftest import call
from tests.agent.llm.fake_server import ScriptedOpenAI

VERIFY = call("verify_customer", order_number="#1002", email="ada@example.com")


async def turn(services: Any, text: str, conversation_id: str | None = None) -> TurnResult:
    return await collect(
        services.runner.run_turn(text=text, channel="test", conversation_id=conversation_id)
    )


async def test_verify_then_read_an_order(llm_services: Any, fake_openai: ScriptedOpenAI) -> None:
    fake_openai.script = [
        {"tool_calls": [VERIFY]},
        {"tool_calls": [call("get_order", "call_2", order_number="#1002")]},
        {"text": "Your order #1002 was delivered."},
    ]
    result = await turn(llm_services, "Where is #1002? ada@example.com")
    fake_openai.assert_complete()
    assert [c.name for c in result.tool_calls] == ["verify_customer", "get_order"]
    assert all(c.ok for c in result.tool_calls)
    assert result.text == "Your order #1002 was delivered."
    # the model saw the tool results, inside the untrusted data block
    tool_msgs = [m for m in fake_openai.requests[2]["messages"] if m["role"] == "tool"]
    assert len(tool_msgs) == 2
    assert all(m["content"].startswith('<data source="tool result" trust="untrusted">')
               for m in tool_msgs)
    assert "delivered" in tool_msgs[1]["content"]
    # the assistant's tool-call turn goes back with content "", never null
    assistant = [m for m in fake_openai.requests[2]["messages"] if m["role"] == "assistant"]
    assert assistant and all(m["content"] == "" for m in assistant)
