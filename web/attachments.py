"""Customer photos as both sides see them: which photos a conversation has, the customer's
link to one, and the file served. Shared by the widget's routes (channels/) and the staff
console (console/), which may not import each other."""

from __future__ import annotations

from typing import Any

from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables_widget import Attachment
from web.errors import error_response
from web.links import public_link


async def owned(session: AsyncSession, conversation_id: str, ids: list[str]) -> list[Attachment]:
    """The attachments with these ids that belong to this conversation, in the order given."""
    if not ids:
        return []
    rows = await session.scalars(
        select(Attachment).where(
            Attachment.id.in_(ids), Attachment.conversation_id == conversation_id
        )
    )
    found = {a.id: a for a in rows}
    return [found[i] for i in ids if i in found]


async def for_conversations(
    session: AsyncSession, conversation_ids: list[str], settings: Any
) -> dict[str, list[dict[str, Any]]]:
    """The attachments of each conversation, as the staff API lists them."""
    listed: dict[str, list[dict[str, Any]]] = {}
    if not conversation_ids:
        return listed
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.conversation_id.in_(conversation_ids))
        .order_by(Attachment.created_at)
    )
    for a in rows:
        listed.setdefault(a.conversation_id, []).append(
            {
                "id": a.id,
                "content_type": a.content_type,
                "size": a.size,
                "message_id": a.message_id,
                "url": public_link(settings, f"/api/staff/attachments/{a.id}"),
                "created_at": a.created_at.isoformat(),
            }
        )
    return listed


def customer_url(settings: Any, attachment: Attachment) -> str:
    return public_link(
        settings,
        f"/api/attachments/{attachment.id}?conversation_id={attachment.conversation_id}",
    )


async def serve(services: Any, attachment: Attachment | None) -> Any:
    """The photo's file, or the same 404 for an unknown id and a missing file."""
    if attachment is None:
        return error_response(404, "not_found", "No such attachment.")
    path = services.settings.data_dir / attachment.path
    if not path.is_file():
        return error_response(404, "not_found", "No such attachment.")
    return FileResponse(
        path,
        media_type=attachment.content_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


async def any_file(services: Any, attachment_id: str) -> Any:
    """A photo by id alone, for staff (whose route checks who may see it)."""
    async with services.sessions() as session:
        attachment = await session.get(Attachment, attachment_id)
    return await serve(services, attachment)
