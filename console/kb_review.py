"""What the console's knowledge page reviews beside the documents (console/knowledge.py lists
them with chunk counts and last ingest time): passages flagged at ingest as trying to instruct
the agent (kept out of answers), and the unanswered questions grouped, each with the payload
that starts an article for it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from console.auth import Staff
from console.unanswered import unanswered_groups
from web.deps import ServicesDep

router = APIRouter(prefix="/api/staff/kb", tags=["knowledge"])

EXCERPT = 600


class FlaggedPassage(BaseModel):
    chunk_id: str
    doc_id: str
    title: str
    heading: str
    source: str
    index: int
    text: str = Field(description="the passage (first 600 characters), as stored")
    ingested_at: str


class Draft(BaseModel):
    title: str
    questions: list[str] = Field(description="the wordings customers used, newest first")


class UnansweredGroup(BaseModel):
    question: str
    normalised: str
    count: int = Field(description="times asked (same normalised text)")
    conversations: list[str]
    first_at: str | None
    last_at: str | None
    draft: Draft


def flagged_passages(knowledge: Any, limit: int) -> list[FlaggedPassage]:
    store = getattr(knowledge, "store", None)
    if store is None:  # a knowledge search with no stored chunks behind it
        return []
    found: list[FlaggedPassage] = []
    for chunk in store.iter_chunks(where={"flagged": True}):
        meta = chunk.metadata
        found.append(
            FlaggedPassage(
                chunk_id=chunk.id,
                doc_id=str(meta.get("doc_id", "")),
                title=str(meta.get("title", "")),
                heading=str(meta.get("heading", "")),
                source=str(meta.get("source", "")),
                index=int(meta.get("index", 0)),
                text=chunk.text[:EXCERPT],
                ingested_at=str(meta.get("ingested_at", "")),
            )
        )
        if len(found) >= limit:
            break
    return sorted(found, key=lambda p: (p.doc_id, p.index))


@router.get("/flagged", response_model=list[FlaggedPassage])
async def flagged(
    services: ServicesDep, _: Staff, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> Any:
    """Passages flagged at ingest as instructions to the agent: never used in answers; fix or
    delete the document they come from."""
    return await asyncio.to_thread(flagged_passages, services.knowledge, limit)


@router.get("/unanswered", response_model=list[UnansweredGroup])
async def unanswered(
    services: ServicesDep, _: Staff, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Any:
    """Questions the help center could not answer, grouped by normalised text, most asked
    first; `draft` is what "write an article for this" starts from."""
    async with services.sessions() as session:
        groups = await unanswered_groups(session, limit=limit)
    return [g.as_json() for g in groups]
