"""Two workers, one conversation: turns run one at a time (the database's turn lease, not a
process lock), so each reply follows its own message and the next turn sees it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select

from channels.summary import collect
from storage.tables import Conversation, Message
from tests.fakes import ScriptedChatModel, says


class SlowModel(ScriptedChatModel):
    """Thinks for a while before each reply, long enough for a second message to arrive."""

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        await asyncio.sleep(0.4)
        async for chunk in super()._astream(*args, **kwargs):
            yield chunk


async def test_two_workers_answer_one_conversation_in_order(
    make_services: Any, settings: Any
) -> None:
    model_a = SlowModel(script=[says("first answer"), says("third answer")])
    model_b = SlowModel(script=[says("second answer")])
    worker_a = await make_services(model=model_a)
    worker_b = await make_services(model=model_b, settings=settings)  # same database
    for worker in (worker_a, worker_b):  # as `serve --workers N` (with Redis) would run them
        worker.runner.turns.across_workers = True
    first = await collect(worker_a.runner.run_turn(text="one", channel="test"))
    cid = first.conversation_id

    async def turn(worker: Any, text: str, delay: float) -> Any:
        await asyncio.sleep(delay)
        return await collect(worker.runner.run_turn(text=text, channel="test", conversation_id=cid))

    # "two" reaches worker A, "three" reaches worker B while A is still thinking
    second, third = await asyncio.gather(turn(worker_a, "two", 0), turn(worker_b, "three", 0.1))
    assert (second.text, third.text) == ("third answer", "second answer")
    async with worker_a.sessions() as session:
        rows = (
            await session.scalars(
                select(Message).where(Message.conversation_id == cid).order_by(Message.seq)
            )
        ).all()
        conversation = await session.get(Conversation, cid)
    assert [(m.role, m.text) for m in rows] == [
        ("customer", "one"),
        ("assistant", "first answer"),
        ("customer", "two"),
        ("assistant", "third answer"),
        ("customer", "three"),
        ("assistant", "second answer"),
    ]
    # worker B's model saw worker A's reply to "two" before answering "three"
    assert [str(m.content) for m in model_b.calls[0] if m.type != "system"][-2:] == [
        "third answer",
        "three",
    ]
    assert conversation is not None and conversation.turn_holder is None  # lease given back
