"""The Chroma collection that holds help-center chunks, with our own embeddings.

Chroma's default embedding function downloads a model, which fails offline, so the collection is
opened with `embedding_function=None` and every write and query passes vectors explicitly.
Each chunk's metadata carries its document's id and content hash, which is how an unchanged
document is recognised without embedding it again.

Several processes may share one embedded store (the server and `support-agent kb ingest` in a
shell): writes go through `SharedView` (knowledge/chroma.py), which keeps this process's view of
Chroma up to date with theirs.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from knowledge.chroma import (
    SharedView,
    delete_where,
    fresh_persistent_client,
    make_client,
    pages,
    swap_collections,
)
from knowledge.rows import PHRASING_OF, Rows, document_infos, document_rows
from knowledge.types import DocumentChunks, DocumentInfo, StoredChunk

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from settings import Settings

_REVISION_KEY = "kb_revision"
_EMBEDDER_KEY = "kb_embedder"  # which model's vectors the collection holds
_HEADINGS_SUFFIX = "__headings"  # sibling collection: one heading vector per chunk id


class ChunkStore:
    """One Chroma collection of chunks; vectors always supplied by the caller. `reopen` and
    `lock_path` (embedded stores): see `SharedView`."""

    def __init__(
        self,
        client: ClientAPI,
        collection_name: str,
        *,
        reopen: Callable[[], ClientAPI] | None = None,
        lock_path: Path | None = None,
    ) -> None:
        self.client = client
        self.collection_name = collection_name
        self._collection: Collection | None = None
        self._headings: Collection | None = None
        self._max_batch: int | None = None
        self._reopen = reopen
        self.view = SharedView(
            self._read_revision,
            reconnect=self._reconnect if reopen is not None else None,
            lock_path=lock_path,
        )

    @classmethod
    def from_settings(cls, settings: Settings, collection_name: str | None = None) -> ChunkStore:
        name = collection_name or settings.kb_collection
        if settings.chroma_url:  # a Chroma server serialises writers itself
            return cls(make_client(settings), name)
        lock = settings.chroma_path / ".support-agent-write.lock"
        reopen = functools.partial(fresh_persistent_client, settings)
        return cls(make_client(settings), name, reopen=reopen, lock_path=lock)

    @property
    def reopened(self) -> int:
        """Times another process's writes made this store reopen."""
        return self.view.reopened

    def writing(self) -> contextlib.AbstractContextManager[None]:
        """Hold the store's write lock (re-entrant), up to date with other processes' writes;
        the outermost block stamps a new revision if anything was written."""
        return self.view.writing(self.touch)

    def refresh(self) -> bool:
        """Reopen the store if another process wrote since this one last looked; True if so."""
        return self.view.refresh()

    def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        assert self._reopen is not None
        self.client = self._reopen()
        self._collection = None
        self._headings = None

    @property
    def collection(self) -> Collection:
        if self._collection is None:
            self._collection = self.client.get_or_create_collection(
                self.collection_name,
                metadata={"hnsw:space": "cosine"},
                embedding_function=None,  # never instantiate Chroma's downloading default
            )
            self.view.opened(str((self._collection.metadata or {}).get(_REVISION_KEY, "")))
        return self._collection

    @property
    def headings(self) -> Collection:
        """Heading-label vectors, keyed by chunk id, kept in step with the chunks."""
        if self._headings is None:
            self._headings = self.client.get_or_create_collection(
                self.collection_name[: 512 - len(_HEADINGS_SUFFIX)] + _HEADINGS_SUFFIX,
                metadata={"hnsw:space": "cosine"},
                embedding_function=None,
            )
        return self._headings

    def ping(self) -> bool:
        try:
            self.client.heartbeat()
            self.collection.count()
        except Exception:
            return False
        return True

    def count(self) -> int:
        return self.collection.count()

    def document_hashes(self) -> dict[str, str]:
        """doc_id -> content hash, read from each document's first chunk."""
        hashes: dict[str, str] = {}
        for chunk in self._iter(where={"index": 0}):
            hashes[str(chunk.metadata["doc_id"])] = str(chunk.metadata["hash"])
        return hashes

    def replace_documents(self, documents: Sequence[DocumentChunks]) -> None:
        """Store several documents' chunks in place of what they had, in as few writes as
        Chroma allows (each write costs tens of milliseconds, whatever its size)."""
        with self.writing():
            self._replace_documents(documents)

    def _replace_documents(self, documents: Sequence[DocumentChunks]) -> None:
        self.view.dirty = True
        chunks, headings = document_rows(documents)
        self._delete_documents([doc.doc_id for doc in documents])
        chunks.add_to(self.collection, self._batch_size())
        headings.add_to(self.headings, self._batch_size())

    def replace_all(self, chunks: Rows, headings: Rows) -> None:
        """Replace every chunk and heading row (new vectors, perhaps of another width).

        Both collections are written under temporary names and swapped in only when complete,
        so a failure midway leaves the store as it was."""
        with self.writing():
            self.view.dirty = True
            kept = {
                k: v
                for k, v in (self.collection.metadata or {}).items()
                if not k.startswith("hnsw:")
            }
            pairs = ((self.collection_name, chunks), (self.headings.name, headings))
            swap_collections(self.client, pairs, self._batch_size())
            self._collection = None
            self._headings = None
            if kept:
                self.collection.modify(metadata=kept)

    def heading_vectors(self, ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Heading-label vectors by chunk id: those of `ids`, or all of them (page by page).

        Chunks stored before heading vectors existed have none; the retriever embeds theirs.
        """
        if ids is not None and not ids:
            return {}
        include: list[Any] = ["embeddings", "metadatas"]
        found = (
            [self.headings.get(ids=list(ids), include=include)]
            if ids is not None
            else pages(self.headings, include=include)
        )
        out: dict[str, np.ndarray] = {}
        for page in found:
            vectors: Any = page["embeddings"] if page["embeddings"] is not None else []
            metadatas = page["metadatas"] or [None] * len(page["ids"])
            for chunk_id, vector, meta in zip(page["ids"], vectors, metadatas, strict=True):
                if not (meta or {}).get(PHRASING_OF):
                    out[chunk_id] = np.asarray(vector, dtype=np.float32)
        return out

    def phrasings_of(self, chunk_ids: Sequence[str]) -> dict[str, list[np.ndarray]]:
        """Vectors of the further phrasings of these chunks' Q&A questions, by chunk id."""
        if not chunk_ids:
            return {}
        page = self.headings.get(
            where={PHRASING_OF: {"$in": list(chunk_ids)}}, include=["embeddings", "metadatas"]
        )
        out: dict[str, list[np.ndarray]] = {}
        vectors: Any = page["embeddings"] if page["embeddings"] is not None else []
        for meta, vector in zip(page["metadatas"] or [], vectors, strict=True):
            out.setdefault(str((meta or {})[PHRASING_OF]), []).append(
                np.asarray(vector, dtype=np.float32)
            )
        return out

    def phrasings(
        self, *, with_embeddings: bool = True
    ) -> list[tuple[str, str, np.ndarray | None]]:
        """(chunk id, phrasing, vector) for every further phrasing of a Q&A question."""
        include: list[Any] = ["metadatas", "documents"]
        include += ["embeddings"] if with_embeddings else []
        out: list[tuple[str, str, np.ndarray | None]] = []
        # (Chroma's "$ne" also matches rows without the key, so heading rows are skipped here.)
        for page in pages(self.headings, include=include):
            vectors: Any = page["embeddings"] if with_embeddings else [None] * len(page["ids"])
            texts = page["documents"] or [None] * len(page["ids"])
            for meta, text, vector in zip(page["metadatas"] or [], texts, vectors, strict=True):
                chunk_id = str((meta or {}).get(PHRASING_OF) or "")
                if chunk_id:
                    vec = None if vector is None else np.asarray(vector, dtype=np.float32)
                    out.append((chunk_id, text or "", vec))
        return out

    def delete_documents(self, doc_ids: Sequence[str]) -> int:
        """Delete the chunks of several documents; returns how many chunks went."""
        with self.writing():
            return self._delete_documents(doc_ids)

    def _delete_documents(self, doc_ids: Sequence[str]) -> int:
        self.view.dirty = True
        removed = 0
        for start in range(0, len(doc_ids), 500):
            where = {"doc_id": {"$in": list(doc_ids[start : start + 500])}}
            removed += delete_where(self.collection, where)
            delete_where(self.headings, where)
        return removed

    def delete_document(self, doc_id: str) -> int:
        return self.delete_documents([doc_id])

    def query(
        self,
        embedding: np.ndarray,
        k: int,
        where: dict[str, Any] | None = None,
        *,
        with_embeddings: bool = False,
    ) -> list[StoredChunk]:
        """The `k` nearest chunks to a normalised vector, with cosine similarity as the score."""
        if k <= 0:
            return []
        include: list[Any] = ["documents", "metadatas", "distances"]
        if with_embeddings:
            include.append("embeddings")
        result = self.collection.query(
            query_embeddings=np.asarray(embedding, dtype=np.float32).reshape(1, -1),
            n_results=k,
            where=where,
            include=include,
        )
        ids = result["ids"][0]
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        vectors: Any = [None] * len(ids)
        if with_embeddings and result["embeddings"] is not None:
            vectors = result["embeddings"][0]
        return [
            StoredChunk(
                id=i,
                text=d or "",
                metadata=dict(m or {}),
                score=1.0 - float(dist),
                embedding=None if v is None else np.asarray(v, dtype=np.float32),
            )
            for i, d, m, dist, v in zip(ids, documents, metadatas, distances, vectors, strict=True)
        ]

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by chunk id."""
        if not ids:
            return {}
        result = self.collection.get(ids=list(ids), include=["embeddings"])
        vectors: Any = result["embeddings"] if result["embeddings"] is not None else []
        return {
            i: np.asarray(v, dtype=np.float32) for i, v in zip(result["ids"], vectors, strict=True)
        }

    def revision(self) -> str:
        """A token that changes whenever `touch` is called (by any process) after a write.

        Reading it also brings this process's view of an embedded store up to date."""
        self.refresh()
        return self.view.known or ""

    def _read_revision(self) -> str:
        self.collection  # noqa: B018 - creates the collection on first use
        collection = self.client.get_collection(self.collection_name, embedding_function=None)
        return str((collection.metadata or {}).get(_REVISION_KEY, ""))

    def touch(self) -> None:
        """Mark the collection changed, so readers in other processes rebuild their indexes."""
        token = uuid.uuid4().hex
        self._set_metadata(_REVISION_KEY, token)
        self.view.stamped(token)

    def embedder_id(self) -> str:
        """The id of the model whose vectors the collection holds ("" if never recorded)."""
        self.collection  # noqa: B018 - creates the collection on first use
        collection = self.client.get_collection(self.collection_name, embedding_function=None)
        return str((collection.metadata or {}).get(_EMBEDDER_KEY, ""))

    def set_embedder_id(self, model_id: str) -> None:
        """Record which model embedded the collection (call under `writing()`)."""
        self.view.dirty = True
        self._set_metadata(_EMBEDDER_KEY, model_id)

    def _set_metadata(self, key: str, value: str) -> None:
        # Chroma's `modify(metadata=...)` replaces the whole dict: keep the other keys.
        current = self.client.get_collection(self.collection_name, embedding_function=None)
        metadata = {k: v for k, v in (current.metadata or {}).items() if not k.startswith("hnsw:")}
        metadata[key] = value
        self.collection.modify(metadata=metadata)

    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        if not ids:
            return []
        result = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {
            i: StoredChunk(id=i, text=d or "", metadata=dict(m or {}))
            for i, d, m in zip(
                result["ids"], result["documents"] or [], result["metadatas"] or [], strict=True
            )
        }
        return [by_id[i] for i in ids if i in by_id]

    def iter_chunks(
        self, where: dict[str, Any] | None = None, *, with_embeddings: bool = False
    ) -> Iterator[StoredChunk]:
        """Every chunk (text, metadata and optionally its vector), page by page."""
        return self._iter(where=where, documents=True, embeddings=with_embeddings)

    def documents(self) -> list[DocumentInfo]:
        """One entry per stored document, sorted by id (its details from its first chunk)."""
        return document_infos(self._iter())

    def drop(self) -> None:
        """Delete the whole collection (tests, `kb reset`)."""
        with self.view.exclusive():
            for name in (self.collection_name, self.headings.name):
                try:
                    self.client.delete_collection(name)
                except Exception:  # already gone
                    pass
            self._collection = None
            self._headings = None

    def _iter(
        self,
        where: dict[str, Any] | None = None,
        documents: bool = False,
        embeddings: bool = False,
    ) -> Iterator[StoredChunk]:
        include: list[Any] = ["metadatas"]
        include += ["documents"] if documents else []
        include += ["embeddings"] if embeddings else []
        for page in pages(self.collection, include=include, where=where):
            texts = page["documents"] if documents else None
            vectors: Any = page["embeddings"] if embeddings else None
            for row, chunk_id in enumerate(page["ids"]):
                yield StoredChunk(
                    id=chunk_id,
                    text=(texts[row] or "") if texts else "",
                    metadata=dict((page["metadatas"] or [])[row] or {}),
                    embedding=(
                        np.asarray(vectors[row], dtype=np.float32) if vectors is not None else None
                    ),
                )

    def _batch_size(self) -> int:
        if self._max_batch is None:
            try:
                self._max_batch = min(int(self.client.get_max_batch_size()), 4096)
            except Exception:
                self._max_batch = 1000
        return self._max_batch
