"""run_turn with a scripted model: ownership, commit-before-ack, idempotent retries, limits."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from agent.events import Accepted, Escalated, Token, ToolStatus, TurnResult
from channels.summary import collect
from errors import ProtocolError
from storage import repo
from storage.tables import Message, Owner
from tests.fakes import ScriptedChatModel, calls, says

VERIFY_THEN_ORDER = [
    ("verify_customer", "started"),
    ("verify_customer", "finished"),
    ("get_order", "started"),
    ("get_order", "finished"),
]


async def rows(services: Any, conversation_id: str) -> list[tuple[str, str]]:
    async with services.sessions() as session:
        found = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        )
        return [(m.role, m.text) for m in found]


async def test_scripted_model_drives_tools_and_streams(make_services: Any) -> None:
    model = ScriptedChatModel(
        script=[
            calls("verify_customer", order_number="#1001", email="ada@example.com"),
            calls("get_order", _id="call_2", order_number="#1001"),
            says("Your order #1001 is partly on its way."),
        ]
    )
    services = await make_services(model=model)
    events = [
        e
        async for e in services.runner.run_turn(
            text="where is #1001? ada@example.com", channel="test"
        )
    ]
    model.assert_complete()
    assert isinstance(events[0], Accepted) and events[0].created
    statuses = [(e.tool, e.status) for e in events if isinstance(e, ToolStatus)]
    assert statuses == VERIFY_THEN_ORDER
    tokens = "".join(e.text for e in events if isinstance(e, Token))
    assert tokens.strip() == "Your order #1001 is partly on its way."
    result = events[-1]
    assert isinstance(result, TurnResult) and result.message_id is not None
    assert [(t.name, t.ok) for t in result.tool_calls] == [
        ("verify_customer", True),
        ("get_order", True),
    ]
    # the model saw the tool results, and the conversation is stored in order
    assert "Trail Runner" in str(model.calls[2][-1].content)
    stored = await rows(services, result.conversation_id)
    assert stored[0] == ("customer", "where is #1001? ada@example.com")
    assert stored[-1] == ("assistant", "Your order #1001 is partly on its way.")
    assert [r for r, _ in stored].count("tool") == 4  # two tool calls and their results


async def test_model_identity_arguments_cannot_bypass_verification(make_services: Any) -> None:
    model = ScriptedChatModel(
        script=[
            calls("get_order", order_number="#1003", customer_id="c2"),
            says("Sorry, I need to verify you first."),
        ]
    )
    services = await make_services(model=model)
    result = await collect(services.runner.run_turn(text="show me #1003", channel="test"))
    model.assert_complete()
    assert [(t.name, t.ok) for t in result.tool_calls] == [("get_order", False)]
    assert "Stone" not in str(model.calls[1][-1].content)


async def test_bot_never_speaks_while_a_human_owns(make_services: Any) -> None:
    model = ScriptedChatModel(script=[says("first")])
    services = await make_services(model=model)
    first = await collect(services.runner.run_turn(text="hi", channel="test"))
    async with services.sessions.begin() as session:
        assert await repo.change_owner(
            session, first.conversation_id, expected_version=0, owner=Owner.HUMAN, staff_id="s1"
        )
    second = await collect(
        services.runner.run_turn(
            text="are you there?", channel="test", conversation_id=first.conversation_id
        )
    )
    model.assert_complete()  # the model was not called again
    assert second.message_id is None and second.owner == "human"
    assert await rows(services, first.conversation_id) == [
        ("customer", "hi"),
        ("assistant", "first"),
        ("customer", "are you there?"),
    ]


async def test_reply_is_dropped_if_a_human_takes_over_mid_turn(make_services: Any) -> None:
    services = await make_services(model=ScriptedChatModel(script=[says("hello"), says("late")]))
    first = await collect(services.runner.run_turn(text="hi", channel="test"))
    conversation_id = first.conversation_id
    events = services.runner.run_turn(text="help", channel="test", conversation_id=conversation_id)
    async for event in events:
        if isinstance(event, Accepted):  # the customer message is committed; bot not run yet
            async with services.sessions.begin() as session:
                assert await repo.change_owner(
                    session, conversation_id, expected_version=0, owner=Owner.HUMAN, staff_id="s1"
                )
        if isinstance(event, TurnResult):
            assert event.message_id is None and event.owner == "human"
    assert ("assistant", "late") not in await rows(services, conversation_id)


async def test_retry_with_same_client_id_replays_without_running_again(
    make_services: Any,
) -> None:
    model = ScriptedChatModel(
        script=[
            calls("escalate_to_human", reason="customer_request", summary="wants a person"),
            says("A colleague will reply here."),
        ]
    )
    services = await make_services(model=model)
    first = await collect(
        services.runner.run_turn(text="a person please", channel="test", client_id="m-1")
    )
    # the reply was committed but (say) the socket died before it arrived: the client retries
    again = await collect(
        services.runner.run_turn(
            text="a person please",
            channel="test",
            conversation_id=first.conversation_id,
            client_id="m-1",
        )
    )
    model.assert_complete()
    assert again.message_id == first.message_id and again.text == first.text
    stored = await rows(services, first.conversation_id)
    assert [r for r, _ in stored].count("customer") == 1
    assert [r for r, _ in stored].count("assistant") == 1


async def test_crash_after_customer_commit_reruns_once(make_services: Any) -> None:
    class Boom(Exception):
        pass

    model = ScriptedChatModel(script=[says("answer")])
    services = await make_services(model=model)
    events = services.runner.run_turn(text="question", channel="test", client_id="m-9")
    accepted = await anext(events)
    assert isinstance(accepted, Accepted)
    with pytest.raises(Boom):
        await events.athrow(Boom())  # the process dies after the ack, before the bot ran
    result = await collect(
        services.runner.run_turn(
            text="question",
            channel="test",
            conversation_id=accepted.conversation_id,
            client_id="m-9",
        )
    )
    model.assert_complete()
    assert result.text == "answer"
    assert await rows(services, accepted.conversation_id) == [
        ("customer", "question"),
        ("assistant", "answer"),
    ]


async def test_overlong_message_is_refused_before_anything_runs(make_services: Any) -> None:
    model = ScriptedChatModel(script=[])
    services = await make_services(model=model)
    with pytest.raises(ProtocolError) as refused:
        await collect(services.runner.run_turn(text="x" * 4001, channel="test"))
    assert refused.value.code == "message_too_long"
    assert model.calls == []
    async with services.sessions() as session:
        assert (await session.scalars(select(Message))).all() == []


async def test_model_failure_gives_a_safe_reply(make_services: Any) -> None:
    model = ScriptedChatModel(script=[])  # any call raises
    services = await make_services(model=model)
    result = await collect(services.runner.run_turn(text="hi", channel="test"))
    assert "something went wrong" in result.text and result.message_id is not None


async def test_escalation_event_streams(make_services: Any) -> None:
    model = ScriptedChatModel(
        script=[calls("escalate_to_human", reason="customer_request", summary="s"), says("ok")]
    )
    services = await make_services(model=model)
    events = [e async for e in services.runner.run_turn(text="human", channel="test")]
    escalated = [e for e in events if isinstance(e, Escalated)]
    assert len(escalated) == 1 and escalated[0].reason == "customer_request"
    assert events[-1].owner == "queued"  # type: ignore[union-attr]


async def test_the_offline_engine_streams_its_reply_and_tool_statuses(make_services: Any) -> None:
    """The offline engine runs without LangGraph's token callbacks: tool statuses come from
    the graph's steps and the reply is streamed in pieces cut from it, before the result."""
    services = await make_services()
    events = [
        e
        async for e in services.runner.run_turn(
            text="where is my order #1001? my email is ada@example.com", channel="test"
        )
    ]
    statuses = [(e.tool, e.status) for e in events if isinstance(e, ToolStatus)]
    assert statuses == VERIFY_THEN_ORDER
    tokens = [e for e in events if isinstance(e, Token)]
    result = events[-1]
    assert isinstance(result, TurnResult) and "#1001" in result.text
    assert len(tokens) > 1 and "".join(t.text for t in tokens) == result.text
    last_status = max(i for i, e in enumerate(events) if isinstance(e, ToolStatus))
    assert all(events.index(t) > last_status for t in tokens)


def test_a_tools_input_is_checked_without_dumping_the_runtime() -> None:
    """LangChain dumps a call's validated input before it adds the injected runtime back;
    the runtime (the conversation's messages, the services) is left out of that dump."""
    from langchain.tools import ToolRuntime

    from tools import default_tools

    runtime = ToolRuntime(
        state={"messages": []},
        context=None,
        config={},
        stream_writer=lambda _: None,
        tool_call_id="call_1",
        store=None,
    )
    for made in default_tools():
        fields = made.args_schema.model_fields  # type: ignore[union-attr]
        assert "runtime" in fields, made.name
        dumped = made.args_schema.model_construct(runtime=runtime).model_dump()  # type: ignore[union-attr]
        assert "runtime" not in dumped, made.name
