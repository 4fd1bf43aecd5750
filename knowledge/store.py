"""The Chroma collection that holds help-center chunks, with our own embeddings.

Chroma's default embedding function downloads a model, which fails offline, so the collection is
opened with `embedding_function=None` and every write and query passes vectors explicitly.
Each chunk's metadata carries its document's id and content hash, which is how an unchanged
document is recognised without embedding it again.

Several processes on one embedded (persistent) store — the server and `support-agent kb ingest`
in a shell — need care: Chroma's embedded client is not process-safe. Each process keeps an
in-memory view of the vector index that does not see another process's writes (reads then fail
with "Error finding id"), and a stale view that later writes can persist itself over records
the other process added. So every write here runs under an inter-process lock file, each write
ends by stamping a new revision token on the collection, and a process that finds a revision it
did not write drops its cached Chroma system and opens the store again from disk — before it
reads (the retriever polls the revision) and before it writes. A Chroma server
(`SUPPORT_CHROMA_URL`) is process-safe and needs none of this.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from errors import KnowledgeError
from knowledge.chunking import Chunk

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from settings import Settings

_REVISION_KEY = "kb_revision"
_HEADINGS_SUFFIX = "__headings"  # sibling collection: one heading vector per chunk id
_PAGE = 5000  # rows per `get` page when reading the whole collection


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]
    score: float = 0.0  # cosine similarity for query results
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class DocumentChunks:
    """One document's chunks, ready to store."""

    doc_id: str
    chunks: list[Chunk]
    embeddings: np.ndarray
    content_hash: str
    kind: str
    origin: str
    flags: list[bool]
    heading_embeddings: np.ndarray | None = None  # per chunk: its "title: heading" label


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    title: str
    source: str
    content_hash: str
    chunks: int
    flagged: int  # chunks flagged as trying to instruct the agent
    kind: str
    origin: str = ""  # where `reindex` reads it again from


def collection_name(base: str, *, store_id: str | None = None, language: str | None = None) -> str:
    """`base`, or `base__store__language`, reduced to what Chroma accepts in a name."""
    parts = [base] + [p for p in (store_id, language) if p]
    name = "__".join(re.sub(r"[^a-zA-Z0-9._-]+", "-", p).strip("-._") for p in parts)
    if len(name) < 3:
        name = f"{name}-kb"
    return name[:512]


def make_client(settings: Settings) -> ClientAPI:
    """`HttpClient` when `chroma_url` is set, else a `PersistentClient` under `data_dir`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        from urllib.parse import urlsplit

        url = urlsplit(settings.chroma_url)
        if not url.hostname:
            raise KnowledgeError(f"SUPPORT_CHROMA_URL is not a URL: {settings.chroma_url!r}")
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


class ChunkStore:
    """One Chroma collection of chunks; vectors always supplied by the caller.

    `reopen` (embedded stores): makes a fresh client for the same folder, used when another
    process has written; `lock_path`: the lock file every writer of that folder takes.
    """

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
        self._lock_path = lock_path
        self._known_revision: str | None = None  # the last revision this process's view holds
        self._write_lock = threading.RLock()
        self._write_depth = 0
        self._dirty = False  # written inside the current `writing()` block, not yet stamped
        self.reopened = 0  # times another process's writes made us reopen (for tests, logs)

    @classmethod
    def from_settings(cls, settings: Settings, collection_name: str | None = None) -> ChunkStore:
        name = collection_name or settings.kb_collection
        if settings.chroma_url:
            return cls(make_client(settings), name)
        return cls(
            make_client(settings),
            name,
            reopen=lambda: _fresh_persistent_client(settings),
            lock_path=settings.chroma_path / ".support-agent-write.lock",
        )

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the store's write lock (re-entrant); the view is brought up to date first, and
        the outermost block ends by stamping a new revision for other processes to notice."""
        with self._write_lock:
            if self._write_depth:
                self._write_depth += 1
                try:
                    yield
                finally:
                    self._write_depth -= 1
                return
            with _file_lock(self._lock_path):
                self.refresh()
                self._write_depth = 1
                self._dirty = False
                try:
                    yield
                finally:
                    self._write_depth = 0
                    if self._dirty:
                        self.touch()

    def refresh(self) -> bool:
        """Reopen the store if another process wrote since this one last looked; True if so."""
        with self._write_lock:  # never swap the client under a write in another thread
            return self._refresh()

    def _refresh(self) -> bool:
        current = self._read_revision()
        if self._known_revision is None:
            self._known_revision = current
            return False
        if current == self._known_revision or self._reopen is None:
            self._known_revision = current
            return False
        self._reconnect()
        self._known_revision = self._read_revision()
        self.reopened += 1
        return True

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
            if self._known_revision is None:  # what this freshly opened view holds
                self._known_revision = str((self._collection.metadata or {}).get(_REVISION_KEY, ""))
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

    def replace_document(
        self,
        doc_id: str,
        chunks: Sequence[Chunk],
        embeddings: np.ndarray,
        *,
        content_hash: str,
        kind: str,
        origin: str = "",
        flags: Sequence[bool],
    ) -> None:
        """Store a document's chunks in place of whatever it had before."""
        self.replace_documents(
            [
                DocumentChunks(
                    doc_id, list(chunks), embeddings, content_hash, kind, origin, list(flags)
                )
            ]
        )

    def replace_documents(self, documents: Sequence[DocumentChunks]) -> None:
        """Store several documents' chunks in place of what they had, in as few writes as
        Chroma allows (each write costs tens of milliseconds, whatever its size)."""
        with self.writing():
            self._replace_documents(documents)

    def _replace_documents(self, documents: Sequence[DocumentChunks]) -> None:
        self._dirty = True
        ids: list[str] = []
        vectors: list[np.ndarray] = []
        texts: list[str] = []
        metadatas: list[dict[str, Any]] = []
        heading_rows: list[tuple[str, np.ndarray, str]] = []
        for doc in documents:
            if not len(doc.chunks) == len(doc.embeddings) == len(doc.flags):
                raise KnowledgeError("chunks, embeddings and flags must have the same length")
            if doc.heading_embeddings is not None:
                if len(doc.heading_embeddings) != len(doc.chunks):
                    raise KnowledgeError("one heading embedding per chunk")
                heading_rows += [
                    (chunk.id, np.asarray(v, dtype=np.float32), doc.doc_id)
                    for chunk, v in zip(doc.chunks, doc.heading_embeddings, strict=True)
                ]
            for chunk, vector, flag in zip(doc.chunks, doc.embeddings, doc.flags, strict=True):
                ids.append(chunk.id)
                vectors.append(np.asarray(vector, dtype=np.float32))
                texts.append(chunk.text)
                metadatas.append(
                    {
                        "doc_id": doc.doc_id,
                        "index": chunk.index,
                        "title": chunk.title,
                        "heading": chunk.heading,
                        "source": chunk.source,
                        "hash": doc.content_hash,
                        "kind": doc.kind,
                        "origin": doc.origin,
                        "flagged": bool(flag),
                    }
                )
        self._delete_documents([doc.doc_id for doc in documents])
        step = self._batch_size()
        for start in range(0, len(ids), step):
            end = start + step
            self.collection.add(
                ids=ids[start:end],
                embeddings=np.stack(vectors[start:end]),
                documents=texts[start:end],
                metadatas=metadatas[start:end],  # type: ignore[arg-type]
            )
        for start in range(0, len(heading_rows), step):
            rows = heading_rows[start : start + step]
            self.headings.add(
                ids=[r[0] for r in rows],
                embeddings=np.stack([r[1] for r in rows]),
                metadatas=[{"doc_id": r[2]} for r in rows],
            )

    def heading_vectors(self, ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Heading-label vectors by chunk id: those of `ids`, or all of them (page by page).

        Chunks stored before heading vectors existed have none; the retriever embeds theirs.
        """
        out: dict[str, np.ndarray] = {}
        if ids is not None:
            if not ids:
                return out
            page = self.headings.get(ids=list(ids), include=["embeddings"])
            vectors: Any = page["embeddings"] if page["embeddings"] is not None else []
            for chunk_id, vector in zip(page["ids"], vectors, strict=True):
                out[chunk_id] = np.asarray(vector, dtype=np.float32)
            return out
        offset = 0
        while True:
            page = self.headings.get(include=["embeddings"], limit=_PAGE, offset=offset)
            vectors = page["embeddings"] if page["embeddings"] is not None else []
            for chunk_id, vector in zip(page["ids"], vectors, strict=True):
                out[chunk_id] = np.asarray(vector, dtype=np.float32)
            if len(page["ids"]) < _PAGE:
                return out
            offset += _PAGE

    def delete_documents(self, doc_ids: Sequence[str]) -> int:
        """Delete the chunks of several documents; returns how many chunks went."""
        with self.writing():
            return self._delete_documents(doc_ids)

    def _delete_documents(self, doc_ids: Sequence[str]) -> int:
        self._dirty = True
        removed = 0
        for start in range(0, len(doc_ids), 500):
            batch = list(doc_ids[start : start + 500])
            ids = self.collection.get(where={"doc_id": {"$in": batch}}, include=[])["ids"]
            if ids:
                self.collection.delete(ids=ids)
            self._delete_headings({"doc_id": {"$in": batch}})
            removed += len(ids)
        return removed

    def delete_document(self, doc_id: str) -> int:
        with self.writing():
            self._dirty = True
            ids = self.collection.get(where={"doc_id": doc_id}, include=[])["ids"]
            if ids:
                self.collection.delete(ids=ids)
            self._delete_headings({"doc_id": doc_id})
            return len(ids)

    def _delete_headings(self, where: dict[str, Any]) -> None:
        ids = self.headings.get(where=where, include=[])["ids"]
        if ids:
            self.headings.delete(ids=ids)

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
        return self._known_revision or ""

    def _read_revision(self) -> str:
        self.collection  # noqa: B018 - creates the collection on first use
        collection = self.client.get_collection(self.collection_name, embedding_function=None)
        return str((collection.metadata or {}).get(_REVISION_KEY, ""))

    def touch(self) -> None:
        """Mark the collection changed, so readers in other processes rebuild their indexes."""
        token = uuid.uuid4().hex
        self.collection.modify(metadata={_REVISION_KEY: token})
        self._known_revision = token
        self._dirty = False

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
        """One entry per stored document, sorted by id."""
        info: dict[str, dict[str, Any]] = {}
        for chunk in self._iter():
            meta = chunk.metadata
            entry = info.setdefault(
                str(meta["doc_id"]),
                {
                    "title": "",
                    "source": "",
                    "hash": "",
                    "kind": "",
                    "origin": "",
                    "chunks": 0,
                    "flagged": 0,
                },
            )
            entry["chunks"] += 1
            entry["flagged"] += int(bool(meta.get("flagged")))
            if meta.get("index") == 0:
                entry.update(
                    title=meta.get("title", ""),
                    source=meta.get("source", ""),
                    hash=meta.get("hash", ""),
                    kind=meta.get("kind", ""),
                    origin=meta.get("origin", ""),
                )
        return [
            DocumentInfo(
                doc_id=doc_id,
                title=e["title"],
                source=e["source"],
                content_hash=e["hash"],
                chunks=e["chunks"],
                flagged=e["flagged"],
                kind=e["kind"],
                origin=e["origin"],
            )
            for doc_id, e in sorted(info.items())
        ]

    def drop(self) -> None:
        """Delete the whole collection (tests, `kb reset`)."""
        with self._write_lock, _file_lock(self._lock_path):
            self.refresh()
            for name in (self.collection_name, self.headings.name):
                try:
                    self.client.delete_collection(name)
                except Exception:  # already gone
                    pass
            self._collection = None
            self._headings = None
            self._known_revision = None

    def _iter(
        self,
        where: dict[str, Any] | None = None,
        documents: bool = False,
        embeddings: bool = False,
    ) -> Iterator[StoredChunk]:
        include: list[Any] = ["metadatas"]
        include += ["documents"] if documents else []
        include += ["embeddings"] if embeddings else []
        offset = 0
        while True:
            page = self.collection.get(where=where, include=include, limit=_PAGE, offset=offset)
            ids = page["ids"]
            texts = page["documents"] if documents else None
            vectors: Any = page["embeddings"] if embeddings else None
            for row, chunk_id in enumerate(ids):
                yield StoredChunk(
                    id=chunk_id,
                    text=(texts[row] or "") if texts else "",
                    metadata=dict((page["metadatas"] or [])[row] or {}),
                    embedding=(
                        np.asarray(vectors[row], dtype=np.float32) if vectors is not None else None
                    ),
                )
            if len(ids) < _PAGE:
                return
            offset += _PAGE

    def _batch_size(self) -> int:
        if self._max_batch is None:
            try:
                self._max_batch = min(int(self.client.get_max_batch_size()), 4096)
            except Exception:
                self._max_batch = 1000
        return self._max_batch


def _fresh_persistent_client(settings: Settings) -> ClientAPI:
    """A client that reads the folder from disk again instead of reusing this process's cached
    Chroma system (which keeps the stale in-memory index)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    return make_client(settings)


@contextlib.contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    """An exclusive lock between processes (flock on a lock file); nothing when `path` is None."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
