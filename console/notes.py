"""Internal notes on a conversation: written by staff for staff.

A note lives in its own table (`staff_notes`), not among the conversation's messages, so it
can never be sent to the customer, delivered by email, or read into the model's context: the
agent's history is built from `messages` only (agent/history.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from bus import announce
from console.auth import Staff, acting_staff_id
from storage import repo
from storage.tables_console import StaffNote
from storage.tables_helpdesk import as_utc
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff", tags=["notes"])


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    staff_id: str | None = Field(
        default=None, max_length=64, description="bearer token only; a session names its member"
    )


class Note(BaseModel):
    id: str
    conversation_id: str
    staff_id: str
    text: str
    created_at: datetime


def note_json(note: StaffNote) -> Note:
    return Note(
        id=note.id,
        conversation_id=note.conversation_id,
        staff_id=note.staff_id,
        text=note.text,
        created_at=as_utc(note.created_at),
    )


async def notes_of(session: Any, conversation_id: str) -> list[StaffNote]:
    rows = await session.scalars(
        select(StaffNote)
        .where(StaffNote.conversation_id == conversation_id)
        .order_by(StaffNote.created_at, StaffNote.id)
    )
    return list(rows)


@router.post("/conversations/{conversation_id}/notes", response_model=Note, status_code=201)
async def add_note(
    conversation_id: str, body: NoteBody, services: ServicesDep, principal: Staff
) -> Any:
    """Adds an internal note. Staff see it in the conversation view; the customer never does,
    and the model never reads it."""
    staff_id = acting_staff_id(principal, body.staff_id)
    async with services.sessions.begin() as session:
        if await repo.get_conversation(session, conversation_id) is None:
            raise HTTPException(404, "no such conversation")
        note = StaffNote(conversation_id=conversation_id, staff_id=staff_id, text=body.text)
        session.add(note)
        await session.flush()
        made = note_json(note)
    await announce(
        services.bus,
        {"type": "note", "conversation_id": conversation_id, "id": made.id, "staff_id": staff_id},
    )
    return made


@router.get("/conversations/{conversation_id}/notes", response_model=list[Note])
async def list_notes(conversation_id: str, services: ServicesDep, _: Staff) -> Any:
    """The conversation's internal notes, oldest first."""
    async with services.sessions() as session:
        if await repo.get_conversation(session, conversation_id) is None:
            raise HTTPException(404, "no such conversation")
        return [note_json(n) for n in await notes_of(session, conversation_id)]
