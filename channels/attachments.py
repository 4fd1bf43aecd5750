"""Customer photos over HTTP: POST /api/attachments and GET /api/attachments/{id} (the customer's
own, by conversation id), docs/protocol.md. Staff fetch photos through the console's
GET /api/staff/attachments/{id} (console/staff.py); both serve with web/attachments.py.

An upload is sniffed and re-encoded (channels/attachment_files.py), written to
`<data_dir>/attachments/<id>.<ext>` and only then recorded, so a row never points to a missing
file. Uploads count against a per-IP rate like messages do."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from channels.attachment_files import FOLDER, SAVE_AS, UploadRefused, customer_url, owned, reencode
from channels.rates import RATE_WINDOW_S, rate_limited_response
from storage import repo
from storage.tables_widget import Attachment
from web.attachments import serve
from web.clientip import ip_bucket
from web.errors import error_response

router = APIRouter()
UPLOADS_PER_IP_PER_MIN = 20


def _services(request: Request) -> Any:
    return request.app.state.services


ServicesDep = Annotated[Any, Depends(_services)]


@router.post("/api/attachments", status_code=201)
async def upload(
    request: Request,
    services: ServicesDep,
    file: Annotated[UploadFile, Form()],
    conversation_id: Annotated[str, Form(max_length=100)] = "",
) -> JSONResponse:
    settings = services.settings
    ip = services.rates.client_ip(request)
    throttle = services.throttle
    verdict = await throttle.hit(
        throttle.key("chat:upload", ip_bucket(ip)),
        limit=UPLOADS_PER_IP_PER_MIN,
        window_s=RATE_WINDOW_S,
    )
    if not verdict.allowed:
        return rate_limited_response(
            verdict, f"Too many uploads. Please wait {verdict.retry_after} seconds."
        )
    if not conversation_id:
        return error_response(400, "no_conversation", "Send a message before adding a photo.")
    limit = settings.max_attachment_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        return error_response(413, "too_large", f"Photos are limited to {_size(limit)}.")
    async with services.sessions() as session:
        conversation = await repo.get_conversation(session, conversation_id)
    if conversation is None:
        return error_response(400, "no_conversation", "That conversation does not exist.")
    try:
        clean, kind = await asyncio.to_thread(reencode, data)
    except UploadRefused as exc:
        return error_response(exc.status, exc.code, exc.message)
    attachment = Attachment(
        conversation_id=conversation_id,
        content_type=kind,
        size=len(clean),
        sha256=hashlib.sha256(clean).hexdigest(),
        path="",
    )
    attachment.id = os.urandom(16).hex()
    relative = Path(FOLDER) / f"{attachment.id}{SAVE_AS[kind][1]}"
    attachment.path = relative.as_posix()
    target = settings.data_dir / relative
    await asyncio.to_thread(_write, target, clean)
    # the file first, then the row: a row never points to a missing file
    async with services.sessions.begin() as session:
        session.add(attachment)
    return JSONResponse(
        {
            "id": attachment.id,
            "content_type": kind,
            "size": len(clean),
            "url": customer_url(settings, attachment),
        },
        status_code=201,
    )


def _size(limit: int) -> str:
    mb = limit / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{limit:,} bytes"


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(target)


@router.get("/api/attachments/{attachment_id}")
async def customer_get(
    attachment_id: str,
    services: ServicesDep,
    conversation_id: Annotated[str, Query(max_length=100)],
) -> Any:
    """The customer's own photo: the conversation id (which only their browser knows) must be
    the one the photo was uploaded to. Any mismatch is the same 404 as a missing id."""
    async with services.sessions() as session:
        found = await owned(session, conversation_id, [attachment_id])
    return await serve(services, found[0] if found else None)
