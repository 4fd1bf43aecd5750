"""Questions the help center could not answer, grouped: the same question asked in slightly
different spelling, case or punctuation counts once with its number of askers. Read from the
audit log of `search_help_center` (a result below the confidence floor is `answerable: false`);
the questions are stored masked (storage/repo.py add_audit)."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage.tables import AuditEntry
from storage.tables_helpdesk import as_utc

SCAN_LIMIT = 5000  # audit rows read at most per request (newest first)
_NOT_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")


def normalise(question: str) -> str:
    """'Do you ship to Mars??' and 'do you ship to mars' are one question."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return _SPACE.sub(" ", _NOT_WORD.sub(" ", text)).strip()


@dataclass
class QuestionGroup:
    question: str  # the most recent wording
    normalised: str
    count: int = 0
    conversations: list[str] = field(default_factory=list)
    wordings: list[str] = field(default_factory=list)
    first_at: datetime | None = None
    last_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "normalised": self.normalised,
            "count": self.count,
            "conversations": self.conversations[:20],
            "first_at": self.first_at.isoformat() if self.first_at else None,
            "last_at": self.last_at.isoformat() if self.last_at else None,
            # what "write an article for this" starts from: the wordings customers used
            "draft": {
                "title": self.question[:1].upper() + self.question[1:],
                "questions": self.wordings[:20],
            },
        }


async def unanswered_groups(
    session: Any, *, since: datetime | None = None, limit: int = 50
) -> list[QuestionGroup]:
    """The unanswered questions since `since`, grouped, most asked first (ties: most recent)."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.tool == "search_help_center", AuditEntry.ok.is_(True))
        .order_by(AuditEntry.id.desc())
        .limit(SCAN_LIMIT)
    )
    if since is not None:
        query = query.where(AuditEntry.created_at >= since)
    groups: dict[str, QuestionGroup] = {}
    for row in await session.scalars(query):
        try:
            answerable = json.loads(row.result).get("answerable", True)
        except (ValueError, AttributeError):
            continue
        question = str((row.args or {}).get("query") or "").strip()
        key = normalise(question)
        if answerable or not key:
            continue
        at = as_utc(row.created_at)
        group = groups.setdefault(key, QuestionGroup(question=question, normalised=key))
        group.count += 1
        if row.conversation_id and row.conversation_id not in group.conversations:
            group.conversations.append(row.conversation_id)
        if question not in group.wordings:
            group.wordings.append(question)
        group.last_at = max(group.last_at or at, at)
        group.first_at = min(group.first_at or at, at)
    ranked = sorted(
        groups.values(), key=lambda g: (g.count, g.last_at or datetime.min), reverse=True
    )
    return ranked[:limit]
