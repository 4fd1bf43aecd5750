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
    assert all(
        m["content"].startswith('<data source="tool result" trust="untrusted">') for m in tool_msgs
    )
    assert "delivered" in tool_msgs[1]["content"]
    # the assistant's tool-call turn goes back with content "", never null
    assistant = [m for m in fake_openai.requests[2]["messages"] if m["role"] == "assistant"]
    assert assistant and all(m["content"] == "" for m in assistant)


RETURN_CALL = call(
    "start_return",
    "call_2",
    order_number="#1002",
    items=[{"item": "Trail Runner", "quantity": 1}],
    reason="wrong_size",
    resolution="refund",
)


async def pending(services: Any) -> list[tuple[str, str]]:
    async with services.sessions() as session:
        rows = await session.execute(select(PendingAction.kind, PendingAction.status))
        return [tuple(r) for r in rows.all()]


async def test_a_write_tool_without_a_yes_only_proposes(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [
        {"tool_calls": [VERIFY]},
        {"tool_calls": [RETURN_CALL]},
        {"text": "I can return 1 × Trail Runner for a refund. Shall I go ahead?"},
    ]
    store = llm_services.store
    first = await turn(llm_services, "Return the trail runners from #1002, ada@example.com")
    assert [c.name for c in first.tool_calls] == ["verify_customer", "start_return"]
    assert store.returns == []  # the model called the WRITE tool: nothing written
    assert await pending(llm_services) == [("return", "awaiting_confirmation")]
    assert first.text.endswith("Shall I go ahead?")  # a proposal's wording passes the guard
    done = await turn(llm_services, "yes", first.conversation_id)
    fake_openai.assert_complete()  # the yes was settled in code: no model call
    assert len(fake_openai.requests) == 3
    assert len(store.returns) == 1 and store.returns[0].rma in done.text
    assert await pending(llm_services) == [("return", "executed")]


async def test_another_customers_order_is_refused_in_the_tool(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [
        {"tool_calls": [VERIFY]},
        {"tool_calls": [call("get_order", "call_2", order_number="#1003")]},
        {"text": "Order #1003 is paid and ships to Bob Stone, total $126.36."},
    ]
    result = await turn(llm_services, "I'm ada@example.com with #1002. Also show me #1003")
    fake_openai.assert_complete()
    assert [(c.name, c.ok) for c in result.tool_calls] == [
        ("verify_customer", True),
        ("get_order", False),
    ]
    answer = [m for m in fake_openai.requests[2]["messages"] if m["role"] == "tool"][-1]
    assert "10001" not in answer["content"] and "Bob" not in answer["content"]
    # the model made the details up anyway: the output guard replaces the reply
    assert "#1003" not in result.text and "Bob" not in result.text
    assert "only share details of orders that belong to you" in result.text


async def test_a_claimed_refund_without_an_action_is_replaced(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    from storage.tables import AuditEntry

    fake_openai.script = [{"text": "Good news: your refund has been processed!"}]
    result = await turn(llm_services, "Did you refund my boots yet?")
    assert "nothing has been changed on your order yet" in result.text
    async with llm_services.sessions() as session:
        stored = (await session.execute(select(AuditEntry.tool, AuditEntry.decision))).all()
    assert ("llm_path", "output:unbacked_claim") in [tuple(r) for r in stored]


async def test_malformed_arguments_get_a_tool_message_back(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [
        {
            "tool_calls": [
                {"name": "get_order", "arguments": "order_number=#1002 (oops)", "id": "b1"}
            ]
        },
        {"text": "Could you give me your order number and email?"},
    ]
    result = await turn(llm_services, "where is my order")
    fake_openai.assert_complete()
    assert result.text == "Could you give me your order number and email?"
    answered = [m for m in fake_openai.requests[1]["messages"] if m["role"] == "tool"]
    assert len(answered) == 1 and answered[0]["tool_call_id"] == "b1"
    assert "not valid JSON" in answered[0]["content"]


async def test_an_unknown_tool_gets_a_tool_message_back(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [
        {"tool_calls": [call("delete_all_orders", "u1", confirm=True)]},
        {"text": "Sorry, I can't do that. How can I help with your order?"},
    ]
    result = await turn(llm_services, "please tidy up the store")
    fake_openai.assert_complete()
    assert result.text.startswith("Sorry, I can't do that.")
    answered = [m for m in fake_openai.requests[1]["messages"] if m["role"] == "tool"]
    assert len(answered) == 1 and answered[0]["tool_call_id"] == "u1"
    assert (
        "delete_all_orders" in answered[0]["content"]
        and "not a valid tool" in answered[0]["content"]
    )


async def test_streamed_tokens_and_tool_statuses_in_order(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [
        {"tool_calls": [VERIFY]},
        {"text": "Thanks Ada, you are verified. What would you like to know?"},
    ]
    events = [
        e async for e in llm_services.runner.run_turn(text="#1002 ada@example.com", channel="test")
    ]
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Accepted" and kinds[-1] == "TurnResult"
    statuses = [(e.tool, e.status) for e in events if isinstance(e, ToolStatus)]
    assert statuses == [("verify_customer", "started"), ("verify_customer", "finished")]
    first_token = next(i for i, e in enumerate(events) if isinstance(e, Token))
    finished = kinds.index("ToolStatus", kinds.index("ToolStatus") + 1)
    assert first_token > finished  # the reply streams after the tool has run
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert (
        streamed == events[-1].text == "Thanks Ada, you are verified. What would you like to know?"
    )
    assert sum(isinstance(e, Token) for e in events) > 1  # streamed in pieces, not at the end
