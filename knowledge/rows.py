"""The rows the chunk store writes: chunks, and their heading and question-phrasing vectors.

The store keeps two Chroma collections. The chunk collection holds one row per chunk (text,
vector, metadata). Its sibling "headings" collection holds, per chunk, the vector of its heading
label (id = the chunk id), and, for a Q&A answer, one row per further phrasing of its question
(id "<chunk id>~q<n>", metadata `of` = the chunk id, the phrasing as the row's document).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from errors import KnowledgeError
from knowledge.types import DocumentChunks, DocumentInfo, StoredChunk

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

PHRASING_OF = "of"  # metadata key of a phrasing row: the chunk whose answer it finds


@dataclass
class Rows:
    """Columns of rows for one Chroma collection."""

    ids: list[str] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)

    def append(self, row_id: str, vector: Any, document: str, metadata: dict[str, Any]) -> None:
        self.ids.append(row_id)
        self.vectors.append(np.asarray(vector, dtype=np.float32))
        self.documents.append(document)
        self.metadatas.append(metadata)

    def __len__(self) -> int:
        return len(self.ids)

    def add_to(self, collection: Collection, step: int) -> None:
        """Add the rows in as few calls as Chroma's batch limit allows."""
        for start in range(0, len(self.ids), step):
            end = start + step
            collection.add(
                ids=self.ids[start:end],
                embeddings=np.stack(self.vectors[start:end]),
                documents=self.documents[start:end],
                metadatas=self.metadatas[start:end],  # type: ignore[arg-type]
            )


def phrasing_id(chunk_id: str, n: int) -> str:
    return f"{chunk_id}~q{n}"


def document_rows(documents: Sequence[DocumentChunks]) -> tuple[Rows, Rows]:
    """(chunk rows, heading and phrasing rows) for several documents."""
    chunks, headings = Rows(), Rows()
    ingested_at = datetime.now(UTC).isoformat(timespec="seconds")  # the console shows it
    for doc in documents:
        if not len(doc.chunks) == len(doc.embeddings) == len(doc.flags):
            raise KnowledgeError("chunks, embeddings and flags must have the same length")
        if doc.heading_embeddings is not None:
            if len(doc.heading_embeddings) != len(doc.chunks):
                raise KnowledgeError("one heading embedding per chunk")
            for chunk, vector in zip(doc.chunks, doc.heading_embeddings, strict=True):
                headings.append(chunk.id, vector, "", {"doc_id": doc.doc_id})
        for chunk_id, phrasings in (doc.phrasings or {}).items():
            for n, (text, vector) in enumerate(phrasings, start=1):
                meta = {"doc_id": doc.doc_id, PHRASING_OF: chunk_id}
                headings.append(phrasing_id(chunk_id, n), vector, text, meta)
        for chunk, vector, flag in zip(doc.chunks, doc.embeddings, doc.flags, strict=True):
            metadata = {
                "doc_id": doc.doc_id,
                "index": chunk.index,
                "title": chunk.title,
                "heading": chunk.heading,
                "source": chunk.source,
                "hash": doc.content_hash,
                "kind": doc.kind,
                "origin": doc.origin,
                "flagged": bool(flag),
                "ingested_at": ingested_at,
            }
            if doc.own_host:
                metadata["own_host"] = doc.own_host
            chunks.append(chunk.id, vector, chunk.text, metadata)
    return chunks, headings


def document_infos(stored: Iterable[StoredChunk]) -> list[DocumentInfo]:
    """One entry per stored document, sorted by id (its details from its first chunk)."""
    chunks: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    first: dict[str, dict[str, Any]] = {}
    for chunk in stored:
        doc_id = str(chunk.metadata["doc_id"])
        chunks[doc_id] += 1
        flagged[doc_id] += bool(chunk.metadata.get("flagged"))
        if chunk.metadata.get("index") == 0:
            first[doc_id] = chunk.metadata
    infos = []
    for doc_id in sorted(chunks):
        meta = first.get(doc_id, {})
        infos.append(
            DocumentInfo(
                doc_id=doc_id,
                title=meta.get("title", ""),
                source=meta.get("source", ""),
                content_hash=meta.get("hash", ""),
                chunks=chunks[doc_id],
                flagged=flagged[doc_id],
                kind=meta.get("kind", ""),
                origin=meta.get("origin", ""),
                ingested_at=meta.get("ingested_at", ""),
            )
        )
    return infos
