"""The same conversation suite on PostgreSQL: turns, ownership compare-and-set, replays."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from channels.summary import collect
from settings import Settings
from storage import repo
from storage.tables import Escalation, Message, Owner
from tests.fakes import ScriptedChatModel, calls, says

pytestmark = pytest.mark.postgres


async def test_conversation_on_postgres(
    make_services: Any, postgres_url: str, tmp_path: Any
) -> None:
    settings = Settings(env="test", data_dir=tmp_path, database_url=postgres_url, demo=False)
    services = await make_services(settings=settings)
    runner = services.runner
    first = await collect(runner.run_turn(text="where is my order #1001?", channel="test"))
    cid = first.conversation_id
    second = await collect(
        runner.run_turn(
            text="ada@example.com", channel="test", conversation_id=cid, client_id="c-2"
        )
    )
    assert [t.name for t in second.tool_calls] == ["verify_customer", "get_order"]
    replay = await collect(
        runner.run_turn(
            text="ada@example.com", channel="test", conversation_id=cid, client_id="c-2"
        )
    )
    assert replay.message_id == second.message_id
    handoff = await collect(
        runner.run_turn(text="let me talk to a person", channel="test", conversation_id=cid)
    )
    assert handoff.owner == "queued"
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Escalation)) == 1
        roles = (
            await session.scalars(
                select(Message.role).where(Message.conversation_id == cid).order_by(Message.seq)
            )
        ).all()
    assert roles.count("customer") == 3 and roles.count("assistant") == 3


async def test_owner_compare_and_set_has_one_winner(
    make_services: Any, postgres_url: str, tmp_path: Any
) -> None:
    settings = Settings(env="test", data_dir=tmp_path, database_url=postgres_url, demo=False)
    services = await make_services(settings=settings, model=ScriptedChatModel(script=[says("hi")]))
    first = await collect(services.runner.run_turn(text="hello", channel="test"))

    async def claim(staff: str) -> bool:
        async with services.sessions.begin() as session:
            return await repo.change_owner(
                session,
                first.conversation_id,
                expected_version=0,
                owner=Owner.HUMAN,
                staff_id=staff,
            )

    results = await asyncio.gather(*(claim(f"s{i}") for i in range(10)))
    assert results.count(True) == 1


async def test_escalation_tool_on_postgres(
    make_services: Any, postgres_url: str, tmp_path: Any
) -> None:
    settings = Settings(env="test", data_dir=tmp_path, database_url=postgres_url, demo=False)
    model = ScriptedChatModel(
        script=[calls("escalate_to_human", reason="other", summary="s"), says("passed on")]
    )
    services = await make_services(settings=settings, model=model)
    result = await collect(services.runner.run_turn(text="help", channel="test"))
    model.assert_complete()
    assert result.escalation is not None and result.owner == "queued"
