"""Staff management of the help center: list, upload, delete, re-index, stats, search."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel

from console.auth import AdminStaff, Staff
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff/kb")


def _report(report: Any) -> dict[str, Any]:
    data = asdict(report)
    data["skipped"] = [{"document": doc, "reason": why} for doc, why in report.skipped]
    return data


@router.get("/documents")
async def documents(services: ServicesDep, _: Staff) -> Any:
    found = await asyncio.to_thread(services.knowledge.documents)
    return [asdict(d) for d in found]


@router.post("/documents")
async def upload(
    request: Request,
    services: ServicesDep,
    _: AdminStaff,
    name: Annotated[str, Query(min_length=1, max_length=200)],
) -> Any:
    """The file is the raw request body; `name` (with its extension) is its document id.
    web/limits.py has already refused a body over max_upload_bytes before it was read."""
    body = await request.body()
    limit = services.settings.max_upload_bytes
    if len(body) > limit:  # a second, free check in case the app is mounted without the guard
        raise HTTPException(413, f"files are limited to {limit:,} bytes")
    return _report(await asyncio.to_thread(services.knowledge.ingest_bytes, name, body))


@router.delete("/documents/{doc_id:path}")
async def delete(doc_id: str, services: ServicesDep, _: AdminStaff) -> Any:
    removed = await asyncio.to_thread(services.knowledge.delete, doc_id)
    if not removed:
        raise HTTPException(404, "no such document")
    return {"deleted": doc_id, "chunks": removed}


class Reindex(BaseModel):
    doc_ids: list[str] | None = None


@router.post("/reindex")
async def reindex(body: Reindex, services: ServicesDep, _: AdminStaff) -> Any:
    return _report(await asyncio.to_thread(services.knowledge.reindex, body.doc_ids))


@router.get("/stats")
async def stats(services: ServicesDep, _: Staff) -> Any:
    return asdict(await asyncio.to_thread(services.knowledge.stats))


@router.get("/search")
async def search(services: ServicesDep, _: Staff,
                 q: Annotated[str, Query(min_length=1, max_length=1000)]) -> Any:
    result = await asyncio.to_thread(services.knowledge.search, q, 5)
    return {"query": q, "answerable": result.answerable, "confidence": result.confidence,
            "results": [asdict(p) for p in result.passages]}
