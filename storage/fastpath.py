"""A chat turn's hot statements straight through the database driver, inside the caller's
SQLAlchemy transaction (storage/driver.py says how): the same SQL as storage/repo.py and
storage/leases.py ran through the session, at a fraction of the CPU. Rows come back as detached
ORM objects, like repo.append_messages' (built without the ORM's per-object constructor)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.ext.asyncio import AsyncSession

from storage.driver import Driver, columns_sql, detached, driver_of, insert, objects
from storage.tables import AuditEntry, Conversation, Message, Owner, new_id, utcnow
from storage.tables_widget import OutcomeEvent

KEEP: Any = object()  # finish_turn: leave the engine state as it is (same as repo.KEEP)
# the turn lease: free, lapsed or already this holder's ($2 holder, $3 until, $4 now)
_CLAIM = (
    "UPDATE conversations SET turn_holder = $2, turn_until = $3, updated_at = $4 "
    "WHERE id = $1 AND (turn_holder IS NULL OR turn_holder = $2 OR turn_until < $4)"
)
_LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = $1"


async def conversation(session: AsyncSession, conversation_id: str) -> Conversation | None:
    """The conversation's row (repo.get_conversation), as a detached object."""
    driver = await driver_of(session)
    table = Conversation.__table__
    rows = await driver.fetch(
        f"SELECT {columns_sql(table)} FROM conversations WHERE id = $1", [conversation_id]
    )
    found = detached(Conversation, table, driver, rows)
    return found[0] if found else None


async def create_conversation(
    session: AsyncSession, *, channel: str, lease: tuple[str, float] | None = None
) -> Conversation:
    """A new conversation owned by the bot (repo.create_conversation: the same columns), with
    the turn lease of `lease` = (holder, ttl_s) taken (claim_turn) when given."""
    now = utcnow()
    values: dict[str, Any] = {
        "id": new_id(),
        "channel": channel,
        "owner": str(Owner.BOT),
        "owner_version": 0,
        "failed_verifications": 0,
        "created_at": now,
        "updated_at": now,
    }
    if lease is not None:
        values["turn_holder"] = lease[0]
        values["turn_until"] = now + timedelta(seconds=lease[1])
    await insert(session, Conversation, [values])
    empty = dict.fromkeys(
        ("owner_staff_id", "verified_customer_id", "verified_at", "engine_state")
        + ("turn_holder", "turn_until")
    )
    return objects(Conversation, [{**empty, **values}])[0]


async def window(session: AsyncSession, conversation_id: str, *, limit: int) -> list[Message]:
    """The last `limit` messages, oldest first (repo.history with a limit)."""
    driver = await driver_of(session)
    table = Message.__table__
    rows = await driver.fetch(
        f"SELECT {columns_sql(table)} FROM messages WHERE conversation_id = $1 "
        "ORDER BY seq DESC LIMIT $2",
        [conversation_id, limit],
    )
    rows.reverse()
    return detached(Message, table, driver, rows)


async def last_seq(session: AsyncSession, conversation_id: str) -> int:
    driver = await driver_of(session)
    rows = await driver.fetch(_LAST_SEQ, [conversation_id])
    return int(rows[0][0])


async def append_messages(
    session: AsyncSession,
    conversation_id: str,
    rows: list[dict[str, Any]],
    *,
    after_seq: int | None = None,
) -> list[Message]:
    """repo.append_messages in one INSERT: seq follows `after_seq` (looked up when None); the
    unique (conversation, seq) makes a racing writer fail rather than interleave."""
    seq = await last_seq(session, conversation_id) if after_seq is None else after_seq
    now = utcnow()
    values = [
        {
            "id": new_id(),
            "conversation_id": conversation_id,
            "seq": seq + i,
            "role": row["role"],
            "text": row.get("text", ""),
            "client_id": row.get("client_id"),
            "reply_to": row.get("reply_to"),
            "citations": row.get("citations") or [],
            "payload": row.get("payload"),
            "created_at": now,
        }
        for i, row in enumerate(rows, start=1)
    ]
    await insert(session, Message, values)
    return objects(Message, values)


async def claim_turn(
    session: AsyncSession, conversation_id: str, holder: str, *, ttl_s: float
) -> bool:
    """leases.claim_turn: the lease is free, lapsed or already this holder's."""
    driver = await driver_of(session)
    changed = await driver.execute(_CLAIM, _claim_args(driver, conversation_id, holder, ttl_s))
    return changed == 1


async def claim_conversation(
    session: AsyncSession, conversation_id: str, holder: str, *, ttl_s: float
) -> Conversation | None:
    """claim_turn and the conversation's row in one statement: the row as the claim left it,
    or None when another holder has the lease (or there is no such conversation)."""
    driver = await driver_of(session)
    table = Conversation.__table__
    rows = await driver.fetch(
        f"{_CLAIM} RETURNING {columns_sql(table)}",
        _claim_args(driver, conversation_id, holder, ttl_s),
    )
    found = detached(Conversation, table, driver, rows)
    return found[0] if found else None


def _claim_args(driver: Driver, conversation_id: str, holder: str, ttl_s: float) -> list[Any]:
    now = utcnow()
    return [conversation_id, holder, driver.time(now + timedelta(seconds=ttl_s)), driver.time(now)]


async def release_turn(session: AsyncSession, conversation_id: str, holder: str) -> None:
    driver = await driver_of(session)
    await driver.execute(
        "UPDATE conversations SET turn_holder = NULL, turn_until = NULL, updated_at = $3 "
        "WHERE id = $1 AND turn_holder = $2",
        [conversation_id, holder, driver.time(utcnow())],
    )


async def finish_turn(
    session: AsyncSession,
    conversation_id: str,
    *,
    version: int,
    engine_state: dict[str, Any] | None = KEEP,
    release_holder: str | None = None,
) -> int | None:
    """repo.finish_turn (the compare-and-set on owner_version, the engine state, the turn
    lease given back) in one statement that also returns the conversation's last message seq,
    for the reply's rows (append_messages' after_seq). None, and nothing changed, when someone
    changed the owner since `version`."""
    driver = await driver_of(session)
    args: list[Any] = [conversation_id, version, driver.time(utcnow())]
    sets = ["updated_at = $3"]
    if engine_state is not KEEP:
        args.append(driver.write(JSON(), engine_state))
        sets.append(f"engine_state = ${len(args)}")
    if release_holder is not None:
        args.append(release_holder)
        mine = f"turn_holder = ${len(args)}"
        sets.append(f"turn_holder = CASE WHEN {mine} THEN NULL ELSE turn_holder END")
        sets.append(f"turn_until = CASE WHEN {mine} THEN NULL ELSE turn_until END")
    rows = await driver.fetch(
        f"UPDATE conversations SET {', '.join(sets)} WHERE id = $1 AND owner_version = $2 "
        f"RETURNING ({_LAST_SEQ})",
        args,
    )
    return int(rows[0][0]) if rows else None


async def add_outcomes(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    """Outcome events (storage/outcomes.py record's fields) in one INSERT."""
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "conversation_id": e.get("conversation_id"),
            "kind": str(e["kind"]),
            "score": e.get("score"),
            "detail": e.get("detail") or {},
            "channel": e["channel"],
            "staff_id": e.get("staff_id"),
            "created_at": e.get("created_at") or now,
        }
        for e in events
    ]
    await insert(session, OutcomeEvent, rows)


async def add_audit(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Audit rows, masked already (repo.audit_row), in one INSERT."""
    now = utcnow()
    await insert(
        session,
        AuditEntry,
        [
            {
                "conversation_id": r.get("conversation_id"),
                "actor": r["actor"],
                "tool": r["tool"],
                "kind": r["kind"],
                "args": r.get("args") or {},
                "ok": r["ok"],
                "decision": r.get("decision"),
                "result": r.get("result") or "",
                "created_at": now,
            }
            for r in rows
        ],
    )
