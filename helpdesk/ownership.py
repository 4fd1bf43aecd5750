"""Who owns a conversation: the bot or a human, never both.

    bot ──escalate──► queued ──claim──► human(staff) ──hand_back──► bot
     │                  │                   │
     └──────────────────┴───────resolve─────┴──► resolved ──customer writes──► bot (reopened)

Every transition is a compare-and-set on `owner_version` in the database, so two workers, a
late job or a stale browser tab cannot both win: the loser changes nothing and is told so."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from errors import SupportAgentError
from storage import repo
from storage.tables import Conversation, Owner

TRANSITIONS: dict[str, tuple[set[Owner], Owner]] = {
    "escalate": ({Owner.BOT}, Owner.QUEUED),
    "claim": ({Owner.BOT, Owner.QUEUED}, Owner.HUMAN),
    "hand_back": ({Owner.QUEUED, Owner.HUMAN}, Owner.BOT),
    "resolve": ({Owner.BOT, Owner.QUEUED, Owner.HUMAN}, Owner.RESOLVED),
    "reopen": ({Owner.RESOLVED}, Owner.BOT),
}


class OwnershipError(SupportAgentError):
    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.conflict = conflict  # True: someone else changed it first; reload and retry


@dataclass(frozen=True)
class Transition:
    conversation_id: str
    action: str
    before: str
    after: str
    version: int


async def transition(
    session: AsyncSession,
    conversation_id: str,
    action: str,
    *,
    staff_id: str | None = None,
    expected_version: int | None = None,
) -> Transition:
    """Applies `action` inside the caller's transaction. `expected_version` pins the state the
    caller saw (a UI passing back what it displayed); without it the current one is used."""
    allowed, target = TRANSITIONS[action]
    conversation = await repo.get_conversation(session, conversation_id)
    if conversation is None:
        raise OwnershipError("no such conversation")
    version = conversation.owner_version if expected_version is None else expected_version
    if conversation.owner_version != version:
        raise OwnershipError("the conversation changed meanwhile", conflict=True)
    before = Owner(conversation.owner)
    if action == "claim" and before == Owner.HUMAN and conversation.owner_staff_id == staff_id:
        return Transition(conversation_id, action, before, before, version)  # already yours
    if before not in allowed:
        raise OwnershipError(f"can't {action.replace('_', ' ')} a conversation that is {before}")
    keep_staff = staff_id if target == Owner.HUMAN else None
    if not await repo.change_owner(
        session, conversation_id, expected_version=version, owner=target, staff_id=keep_staff
    ):
        raise OwnershipError("the conversation changed meanwhile", conflict=True)
    return Transition(conversation_id, action, before, target, version + 1)


def staff_may_reply(conversation: Conversation, staff_id: str) -> bool:
    return conversation.owner == Owner.HUMAN and conversation.owner_staff_id == staff_id
