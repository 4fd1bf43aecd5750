"""Shared shapes of the knowledge package."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (one row per text)."""

    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk, with what a citation needs."""

    id: str
    title: str
    text: str
    score: float  # cosine similarity in [-1, 1]; higher is better
    source: str  # file path or URL of the document
    heading: str = ""


@dataclass
class IngestReport:
    documents_seen: int = 0
    documents_added: int = 0
    documents_unchanged: int = 0
    documents_updated: int = 0
    chunks_added: int = 0
    documents_removed: int = 0  # pruned: stored but no longer in the ingested sources
    chunks_flagged: int = 0  # chunks that try to instruct the agent (kept out of answers)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


@dataclass(frozen=True)
class SearchResult:
    """Passages best first, and whether the best of them is good enough to answer from."""

    query: str
    passages: list[Passage]
    answerable: bool
    confidence: float  # 0..1, calibrated so that answerable == confidence >= 0.5
