"""Shared shapes of the knowledge package."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from knowledge.chunking import Chunk


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (one row per text)."""

    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class TopicReader(Protocol):
    """What a text is about, as a probability per topic: the agent's intent classifier
    (`agent.local.intents.IntentClassifier`), which learnt from customer-written examples what
    "the jacket is too small, I need a large" asks for (an exchange) where a MiniLM cosine alone
    finds the sizing guide. `vectors` are `embedder`'s embeddings of `texts`."""

    embedder: Any

    def topic_distribution(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk, with what a citation needs."""

    id: str
    title: str
    text: str
    score: float  # cosine similarity in [-1, 1]; higher is better
    source: str  # file path or URL of the document
    heading: str = ""
    # cosine between the query's and the chunk's topic distributions (knowledge/topics.py);
    # None without a topic reader
    topic: float | None = None
    # the help center's own domain while the store's identity is not configured (links.own_host)
    own_host: str = ""


@dataclass
class IngestReport:
    documents_seen: int = 0
    documents_added: int = 0
    documents_unchanged: int = 0
    documents_updated: int = 0
    chunks_added: int = 0
    documents_removed: int = 0  # pruned: stored but no longer in the ingested sources
    chunks_flagged: int = 0  # chunks that try to instruct the agent (kept out of answers)
    own_host: str = ""  # the domain read as the help center's own (no store identity set)
    demo_removed: int = 0  # demo help-center articles the store's own help center replaced
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


@dataclass(frozen=True)
class SearchResult:
    """Passages best first, and whether the best of them is good enough to answer from."""

    query: str
    passages: list[Passage]
    answerable: bool
    confidence: float  # 0..1, calibrated so that answerable == confidence >= 0.5


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
    # Q&A: chunk id -> (phrasing, vector) for the other phrasings of that chunk's question
    phrasings: dict[str, list[tuple[str, np.ndarray]]] | None = None
    own_host: str = ""  # the help center's own domain (knowledge/links.py own_host), or ""


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
    ingested_at: str = ""  # ISO time of the last ingest ("" for chunks stored before it was kept)
