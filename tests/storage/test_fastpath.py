"""The turn's statements straight through the driver (storage/fastpath.py), on SQLite and
PostgreSQL: rows they write read back through the ORM as the ORM's own rows do, and the other
way round; they run in the session's transaction; the compare-and-set and the turn lease hold."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError

from storage import fastpath, repo
from storage.tables import AuditEntry, Conversation, Message, Owner, new_id, utcnow
from storage.tables_widget import OutcomeEvent, OutcomeKind


def columns(obj: Any, table: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in table.columns if c.key not in skip}


async def raw(session: Any, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows as the database holds them: JSON as its text, NULL as None."""
    return [tuple(r) for r in (await session.execute(text(sql), params)).all()]


async def test_messages_written_either_way_are_the_same_rows(sessions: Any) -> None:
    rows = [
        {"role": "customer", "text": "hi", "client_id": "c-1"},
        {"role": "tool", "payload": {"type": "tool", "data": {"content": "ok"}}},
        {"role": "assistant", "text": "hello", "reply_to": "m1", "citations": [{"id": "p1"}]},
    ]
    async with sessions.begin() as session:
        cid = (await repo.create_conversation(session, channel="web")).id
        other = (await repo.create_conversation(session, channel="web")).id
        written = await fastpath.append_messages(session, cid, rows)
        # through SQLAlchemy (Core), as repo.append_messages wrote them before, in another
        # conversation
        now = utcnow()
        old = [
            {
                "client_id": None,
                "reply_to": None,
                "payload": None,
                "text": "",
                **row,
                "id": new_id(),
                "conversation_id": other,
                "seq": 10 + i,
                "created_at": now,
                "citations": row.get("citations") or [],
            }
            for i, row in enumerate(rows)
        ]
        await session.execute(insert(Message.__table__), old)
    assert [m.seq for m in written] == [1, 2, 3]
    async with sessions() as session:
        loaded = (await session.scalars(select(Message).order_by(Message.seq))).all()
        window = await fastpath.window(session, cid, limit=60)
        as_stored = await raw(
            session,
            "SELECT seq, payload IS NULL, CAST(payload AS TEXT), CAST(citations AS TEXT) "
            "FROM messages ORDER BY seq",
        )
    skip = ("id", "conversation_id", "seq", "created_at")
    ours, theirs = loaded[:3], loaded[3:]
    assert [columns(m, Message.__table__, skip) for m in ours] == [
        columns(m, Message.__table__, skip) for m in theirs
    ]
    # what the fast path returned is what the ORM reads back (times aside: the ORM reads
    # SQLite's naive text, the writer holds the aware value it wrote)
    assert [columns(m, Message.__table__, ("created_at",)) for m in written] == [
        columns(m, Message.__table__, ("created_at",)) for m in ours
    ]
    # the times round-trip (SQLite keeps them as naive UTC text, as SQLAlchemy writes them)
    assert [m.created_at.replace(tzinfo=None) for m in written] == [
        m.created_at.replace(tzinfo=None) for m in ours
    ]
    # and what the window reads is exactly the ORM's rows, times included
    assert [columns(m, Message.__table__) for m in window] == [
        columns(m, Message.__table__) for m in ours
    ]
    assert [r[1:] for r in as_stored[:3]] == [r[1:] for r in as_stored[3:]]
    assert as_stored[0][1:3] == (False, "null")  # an explicit None is JSON null, as before


async def test_window_is_the_last_rows_oldest_first(sessions: Any) -> None:
    async with sessions.begin() as session:
        cid = (await repo.create_conversation(session, channel="web")).id
        await fastpath.append_messages(
            session, cid, [{"role": "customer", "text": str(i)} for i in range(5)]
        )
        window = await fastpath.window(session, cid, limit=3)
        history = await repo.history(session, cid, limit=3)
    assert [m.text for m in window] == ["2", "3", "4"]
    assert [m.id for m in window] == [m.id for m in history]


async def test_a_conversation_created_either_way_is_the_same_row(sessions: Any) -> None:
    async with sessions.begin() as session:
        ours = await fastpath.create_conversation(session, channel="web")
        theirs = await repo.create_conversation(session, channel="web")
    async with sessions() as session:
        loaded = {c.id: c for c in (await session.scalars(select(Conversation))).all()}
        fast = await fastpath.conversation(session, ours.id)
        as_stored = await raw(
            session,
            "SELECT engine_state IS NULL, verified_at IS NULL, turn_until IS NULL, owner, "
            "owner_version, failed_verifications FROM conversations ORDER BY id = :ours",
            ours=ours.id,
        )
        assert await fastpath.conversation(session, "no-such-id") is None
    skip = ("id", "created_at", "updated_at")
    table = Conversation.__table__
    assert columns(loaded[ours.id], table, skip) == columns(loaded[theirs.id], table, skip)
    assert as_stored[0] == as_stored[1] == (True, True, True, "bot", 0, 0)
    assert fast is not None
    assert columns(fast, table) == columns(loaded[ours.id], table)
    assert columns(ours, table, ("created_at", "updated_at")) == columns(fast, table, skip[1:])


async def test_finish_turn_is_a_compare_and_set_that_gives_the_lease_back(sessions: Any) -> None:
    async with sessions.begin() as session:
        cid = (await repo.create_conversation(session, channel="web")).id
        assert await fastpath.claim_turn(session, cid, "w1", ttl_s=30)
        await repo.append_messages(session, cid, [{"role": "customer", "text": "hi"}] * 2)
    async with sessions.begin() as session:
        # a human took over: the bot's stale version changes nothing
        assert await repo.change_owner(
            session, cid, expected_version=0, owner=Owner.HUMAN, staff_id="s1"
        )
        assert (
            await fastpath.finish_turn(
                session, cid, version=0, engine_state={"flow": "x"}, release_holder="w1"
            )
            is None
        )
    async with sessions() as session:
        row = await session.get(Conversation, cid)
        assert row is not None
        assert (row.turn_holder, row.engine_state, row.owner) == ("w1", None, "human")
    async with sessions.begin() as session:
        # the current version, another worker's lease: state written, lease kept; the last
        # seq comes back for the reply's rows
        last = await fastpath.finish_turn(
            session, cid, version=1, engine_state={"flow": "x"}, release_holder="w2"
        )
        assert last == 2
    async with sessions.begin() as session:
        assert await fastpath.finish_turn(session, cid, version=1, release_holder="w1") == 2
    async with sessions() as session:
        row = await session.get(Conversation, cid)
        assert row is not None
        assert (row.turn_holder, row.turn_until, row.engine_state) == (None, None, {"flow": "x"})
        assert await fastpath.finish_turn(session, "no-such-id", version=0) is None


async def test_the_turn_lease_is_exclusive_until_it_lapses(sessions: Any) -> None:
    async with sessions.begin() as session:
        cid = (await repo.create_conversation(session, channel="web")).id

    async def claim(holder: str) -> bool:
        async with sessions.begin() as session:
            return await fastpath.claim_turn(session, cid, holder, ttl_s=30)

    results = await asyncio.gather(*(claim(f"w{i}") for i in range(6)))
    assert sum(results) == 1
    winner = f"w{results.index(True)}"
    other = "w9"
    assert await claim(winner)  # already its own
    assert not await claim(other)
    async with sessions.begin() as session:
        # the holder died: its lease time passed (written through SQLAlchemy, compared here)
        await session.execute(
            update(Conversation)
            .where(Conversation.id == cid)
            .values(turn_until=utcnow() - timedelta(seconds=1))
        )
    assert await claim(other)
    assert not await claim(winner)
    async with sessions.begin() as session:
        await fastpath.release_turn(session, cid, winner)  # not its lease: nothing happens
    assert not await claim(winner)
    async with sessions.begin() as session:
        await fastpath.release_turn(session, cid, other)
    assert await claim(winner)


async def test_statements_run_in_the_sessions_transaction(sessions: Any) -> None:
    async with sessions.begin() as session:
        cid = (await repo.create_conversation(session, channel="web")).id
    with pytest.raises(RuntimeError):
        async with sessions.begin() as session:
            # the first statement of the transaction, so it is the one that begins it
            assert await fastpath.claim_turn(session, cid, "w1", ttl_s=30)
            await fastpath.append_messages(session, cid, [{"role": "customer", "text": "x"}])
            raise RuntimeError("the turn failed")
    async with sessions() as session:
        row = await session.get(Conversation, cid)
        assert row is not None and row.turn_holder is None
        assert await fastpath.window(session, cid, limit=10) == []
    # a unique violation is SQLAlchemy's IntegrityError, as through the session
    async with sessions.begin() as session:
        await repo.append_message(session, conversation_id=cid, role="customer", client_id="a")
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            await repo.append_message(session, conversation_id=cid, role="customer", client_id="a")


async def test_outcome_and_audit_rows_read_back_through_the_orm(sessions: Any) -> None:
    async with sessions.begin() as session:
        await fastpath.add_outcomes(
            session,
            [
                {
                    "kind": OutcomeKind.TURN,
                    "conversation_id": "c1",
                    "channel": "web",
                    "score": 12,
                    "detail": {"intent": "order_status", "answered": True},
                },
                {"kind": OutcomeKind.RESOLUTION, "conversation_id": "c1", "channel": "web"},
            ],
        )
        await fastpath.add_audit(
            session,
            [
                repo.audit_row(
                    conversation_id="c1",
                    actor="bot",
                    tool="get_order",
                    kind="read",
                    args={"email": "ada@example.com"},
                    ok=True,
                    result="fine",
                )
            ],
        )
    async with sessions() as session:
        events = (await session.scalars(select(OutcomeEvent).order_by(OutcomeEvent.kind))).all()
        audit = (await session.scalars(select(AuditEntry))).all()
    assert [(e.kind, e.score, e.detail, e.staff_id) for e in events] == [
        ("resolution", None, {}, None),
        ("turn", 12, {"intent": "order_status", "answered": True}, None),
    ]
    assert len(audit) == 1 and audit[0].ok is True and audit[0].tool == "get_order"
    assert "ada@example.com" not in str(audit[0].args)  # masked on the way in


async def test_the_lease_taken_with_the_row_it_claims(sessions: Any) -> None:
    async with sessions.begin() as session:
        # a new conversation starts with the lease of the turn that started it
        cid = (await fastpath.create_conversation(session, channel="web", lease=("w1", 30))).id
    async with sessions.begin() as session:
        assert await fastpath.claim_conversation(session, cid, "w2", ttl_s=30) is None
        assert await fastpath.claim_conversation(session, "no-such-id", "w2", ttl_s=30) is None
        claimed = await fastpath.claim_conversation(session, cid, "w1", ttl_s=30)
    async with sessions() as session:
        loaded = await session.get(Conversation, cid)
    assert claimed is not None and loaded is not None
    # the row the claim returns is the row as the ORM reads it after the claim
    assert columns(claimed, Conversation.__table__) == columns(loaded, Conversation.__table__)
    assert loaded.turn_holder == "w1" and loaded.turn_until is not None
