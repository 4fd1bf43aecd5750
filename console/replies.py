"""Saved replies: texts staff reuse, with `{{first_name}}` and `{{order_number}}` filled in on
the server from the conversation's verified customer and the order it is about. Admins write
them; every staff member reads and uses them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from console.auth import AdminStaff, Staff, acting_staff_id
from storage import repo
from storage.tables_console import SavedReply
from storage.tables_helpdesk import as_utc
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff", tags=["saved replies"])

PLACEHOLDERS = ("first_name", "order_number")
_PLACEHOLDER = re.compile(r"\{\{\s*([a-zA-Z_]+)\s*\}\}")


class SavedReplyBody(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=4000)
    staff_id: str | None = Field(default=None, max_length=64, description="bearer token only")

    @field_validator("text")
    @classmethod
    def known_placeholders(cls, text: str) -> str:
        unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(PLACEHOLDERS))
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {', '.join(unknown)}; use "
                + ", ".join("{{" + p + "}}" for p in PLACEHOLDERS)
            )
        return text


class SavedReplyOut(BaseModel):
    id: str
    title: str
    text: str
    created_by: str
    created_at: datetime
    updated_at: datetime


class Filled(BaseModel):
    id: str
    conversation_id: str
    text: str = Field(description="the reply with its placeholders filled, ready to send")
    missing: list[str] = Field(description="placeholders with no value in this conversation")


def reply_json(row: SavedReply) -> SavedReplyOut:
    return SavedReplyOut(
        id=row.id,
        title=row.title,
        text=row.text,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def fill(text: str, values: dict[str, str | None]) -> tuple[str, list[str]]:
    """The text with each known placeholder replaced (by "" when it has no value), and the
    names that had none."""
    missing: list[str] = []

    def one(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if not value:
            missing.append(match.group(1))
            return ""
        return value

    filled = _PLACEHOLDER.sub(one, text)
    return re.sub(r"[ \t]{2,}", " ", filled).replace(" ,", ","), sorted(set(missing))


async def placeholder_values(services: Any, conversation_id: str) -> dict[str, str | None]:
    """first_name: the verified customer's; order_number: the last order the conversation's
    escalation record discussed, else the one the bot was working on."""
    async with services.sessions() as session:
        conversation = await repo.get_conversation(session, conversation_id)
        if conversation is None:
            raise HTTPException(404, "no such conversation")
        escalation = await repo.open_escalation(session, conversation_id)
    first_name = None
    if conversation.verified_customer_id:
        customer = await services.store.get_customer(conversation.verified_customer_id)
        first_name = customer.first_name if customer else None
    orders = list((escalation.details or {}).get("orders_discussed", [])) if escalation else []
    order = orders[-1] if orders else (conversation.engine_state or {}).get("order_number")
    return {"first_name": first_name, "order_number": order}


@router.get("/saved-replies", response_model=list[SavedReplyOut])
async def list_replies(services: ServicesDep, _: Staff) -> Any:
    async with services.sessions() as session:
        rows = await session.scalars(select(SavedReply).order_by(SavedReply.title))
        return [reply_json(r) for r in rows]


@router.post("/saved-replies", response_model=SavedReplyOut, status_code=201)
async def create_reply(body: SavedReplyBody, services: ServicesDep, principal: AdminStaff) -> Any:
    """Admins only. Placeholders: {{first_name}}, {{order_number}}."""
    author = acting_staff_id(principal, body.staff_id)
    async with services.sessions.begin() as session:
        row = SavedReply(title=body.title, text=body.text, created_by=author)
        session.add(row)
        await session.flush()
        return reply_json(row)


@router.get("/saved-replies/{reply_id}", response_model=SavedReplyOut)
async def get_reply(reply_id: str, services: ServicesDep, _: Staff) -> Any:
    async with services.sessions() as session:
        row = await session.get(SavedReply, reply_id)
        if row is None:
            raise HTTPException(404, "no such saved reply")
        return reply_json(row)


@router.put("/saved-replies/{reply_id}", response_model=SavedReplyOut)
async def update_reply(
    reply_id: str, body: SavedReplyBody, services: ServicesDep, principal: AdminStaff
) -> Any:
    """Admins only."""
    acting_staff_id(principal, body.staff_id)
    async with services.sessions.begin() as session:
        row = await session.get(SavedReply, reply_id)
        if row is None:
            raise HTTPException(404, "no such saved reply")
        row.title, row.text = body.title, body.text
        await session.flush()
        return reply_json(row)


@router.delete("/saved-replies/{reply_id}", status_code=204)
async def delete_reply(reply_id: str, services: ServicesDep, _: AdminStaff) -> None:
    """Admins only."""
    async with services.sessions.begin() as session:
        row = await session.get(SavedReply, reply_id)
        if row is None:
            raise HTTPException(404, "no such saved reply")
        await session.delete(row)


@router.post(
    "/conversations/{conversation_id}/saved-replies/{reply_id}", response_model=Filled
)
async def use_reply(
    conversation_id: str, reply_id: str, services: ServicesDep, _: Staff
) -> Any:
    """The saved reply for this conversation, placeholders filled on the server; the console
    puts it in the reply box (nothing is sent)."""
    async with services.sessions() as session:
        row = await session.get(SavedReply, reply_id)
        if row is None:
            raise HTTPException(404, "no such saved reply")
        template = row.text
    text, missing = fill(template, await placeholder_values(services, conversation_id))
    return Filled(id=reply_id, conversation_id=conversation_id, text=text, missing=missing)
