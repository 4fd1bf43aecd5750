"""The turn order (agent/turns.py): the database lease only across workers, always given back,
and the reply's one-statement commit (storage/repo.py finish_turn)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import update

from agent import runner as runner_module
from agent import turn_start
from channels.summary import collect
from storage import repo
from storage.tables import Conversation, Message
from tests.fakes import ScriptedChatModel, says


class HoldingModel(ScriptedChatModel):
    """Waits for the test to look at the conversation row before it answers."""

    started: Any = None
    go_on: Any = None

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        self.started.set()
        await self.go_on.wait()
        async for chunk in super()._astream(*args, **kwargs):
            yield chunk


async def _holder_during_turn(services: Any, model: HoldingModel) -> tuple[str | None, str]:
    """The conversation's turn_holder while the bot thinks, and the reply."""
    first = await collect(services.runner.run_turn(text="one", channel="test"))
    model.started, model.go_on = asyncio.Event(), asyncio.Event()
    turn = asyncio.create_task(
        collect(
            services.runner.run_turn(
                text="two", channel="test", conversation_id=first.conversation_id
            )
        )
    )
    await asyncio.wait_for(model.started.wait(), 10)
    async with services.sessions() as session:
        row = await session.get(Conversation, first.conversation_id)
        holder = row.turn_holder if row else "missing"
    model.go_on.set()
    reply = await asyncio.wait_for(turn, 10)
    return holder, reply.text


async def test_one_process_takes_no_database_lease(make_services: Any) -> None:
    model = HoldingModel(script=[says("first"), says("second")])
    model.started, model.go_on = asyncio.Event(), asyncio.Event()
    model.go_on.set()
    services = await make_services(model=model)
    assert services.runner.turns.across_workers is False  # no Redis: one serving process
    holder, text = await _holder_during_turn(services, model)
    assert (holder, text) == (None, "second")


async def test_across_workers_the_lease_is_held_then_released(make_services: Any) -> None:
    model = HoldingModel(script=[says("first"), says("second")])
    model.started, model.go_on = asyncio.Event(), asyncio.Event()
    model.go_on.set()
    services = await make_services(model=model)
    services.runner.turns.across_workers = True
    holder, text = await _holder_during_turn(services, model)
    assert holder == services.runner.turns.holder and text == "second"
    async with services.sessions() as session:
        rows = (await session.execute(Conversation.__table__.select())).all()
    assert [r.turn_holder for r in rows] == [None]


async def test_a_turn_that_fails_before_its_commit_gives_the_lease_back(
    make_services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = await make_services(model=ScriptedChatModel(script=[says("first"), says("x")]))
    services.runner.turns.across_workers = True
    first = await collect(services.runner.run_turn(text="one", channel="test"))

    async def broken(*_args: Any, **_kwargs: Any) -> bool:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(runner_module.fastpath, "finish_turn", broken)
    with pytest.raises(RuntimeError):
        await collect(
            services.runner.run_turn(
                text="two", channel="test", conversation_id=first.conversation_id
            )
        )
    async with services.sessions() as session:
        row = await session.get(Conversation, first.conversation_id)
    # without the give-back the next message would wait TURN_LEASE_S (45 s) for it to lapse
    assert row is not None and row.turn_holder is None and row.turn_until is None


async def test_finish_turn_is_a_compare_and_set(make_services: Any) -> None:
    services = await make_services(model=ScriptedChatModel(script=[]))
    async with services.sessions.begin() as session:
        conversation = await repo.create_conversation(session, channel="test")
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation.id)
            .values(turn_holder="worker-a", engine_state={"flow": "old"})
        )
    cid = conversation.id
    async with services.sessions.begin() as session:
        # someone took the conversation over (owner_version moved): nothing changes
        assert not await repo.finish_turn(
            session, cid, version=5, engine_state={"flow": "new"}, release_holder="worker-a"
        )
        # the right version, but another worker's lease: the state is written, the lease kept
        assert await repo.finish_turn(
            session, cid, version=0, engine_state={"flow": "new"}, release_holder="worker-b"
        )
    async with services.sessions() as session:
        row = await session.get(Conversation, cid)
    assert row is not None
    assert (row.engine_state, row.turn_holder) == ({"flow": "new"}, "worker-a")
    async with services.sessions.begin() as session:
        assert await repo.finish_turn(session, cid, version=0, release_holder="worker-a")
    async with services.sessions() as session:
        row = await session.get(Conversation, cid, populate_existing=True)
    assert row is not None
    assert (row.engine_state, row.turn_holder) == ({"flow": "new"}, None)  # state kept


async def test_a_retried_message_beyond_the_window_is_still_recognised(
    make_services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client_id lookup is done in memory only when the window holds the whole
    conversation; a retry of an older message still gets its stored reply."""
    monkeypatch.setattr(turn_start, "HISTORY_WINDOW", 4)
    model = ScriptedChatModel(script=[says(f"answer {n}") for n in range(4)])
    services = await make_services(model=model)
    first = await collect(services.runner.run_turn(text="m0", channel="test", client_id="c0"))
    cid = first.conversation_id
    for n in range(1, 4):
        await collect(
            services.runner.run_turn(
                text=f"m{n}", channel="test", conversation_id=cid, client_id=f"c{n}"
            )
        )
    again = await collect(
        services.runner.run_turn(text="m0", channel="test", conversation_id=cid, client_id="c0")
    )
    assert again.text == "answer 0"
    async with services.sessions() as session:
        rows = (await session.execute(Message.__table__.select())).all()
    assert len(rows) == 8  # nothing stored twice, the model asked 4 times only
    model.assert_complete()


async def test_only_a_message_sent_again_looks_for_an_action_it_confirmed(
    make_services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message stored by this turn cannot have confirmed an action: the read that finishes
    an action stranded by a dead worker runs for a retried message only."""
    from tools import actions

    looked: list[str] = []
    real = actions.confirmed_by

    async def spy(deps: Any, message_id: str) -> Any:
        looked.append(message_id)
        return await real(deps, message_id)

    monkeypatch.setattr(actions, "confirmed_by", spy)
    model = ScriptedChatModel(script=[says("first"), says("second")])
    services = await make_services(model=model)
    first = await collect(services.runner.run_turn(text="one", channel="test", client_id="a"))
    cid = first.conversation_id
    await collect(
        services.runner.run_turn(text="two", channel="test", conversation_id=cid, client_id="b")
    )
    assert looked == []
    async with services.sessions.begin() as session:  # "two" was stored, its reply lost
        await session.execute(
            Message.__table__.delete().where(
                Message.conversation_id == cid, Message.text == "second"
            )
        )
    model.script.append(says("second again"))
    again = await collect(
        services.runner.run_turn(text="two", channel="test", conversation_id=cid, client_id="b")
    )
    assert again.text == "second again" and len(looked) == 1
