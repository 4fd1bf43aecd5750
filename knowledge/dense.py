"""The dense score of a chunk: its cosine, its heading label's, and its Q&A question phrasings'.

    s           = (1 − l) × cosine(query, chunk) + l × cosine(query, "title: heading" label)
    dense score = (1 − q) × s + q × max(s, best cosine with the chunk's question phrasings)

The phrasings are a Q&A answer's main question (its heading label) and every other phrasing its
entry gives (knowledge/rows.py). With the vectors in memory (`DenseExtras`) every chunk is
scored by a few matrix products; a store too large for memory scores Chroma's nearest chunks
with their labels and phrasings fetched for them alone (`blend_hits`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from knowledge.chunking import heading_label
from knowledge.types import StoredChunk

if TYPE_CHECKING:
    from knowledge.lexical import LexicalIndex
    from knowledge.store import ChunkStore

Phrasings = dict[str, list[tuple[str, np.ndarray | None]]]  # chunk id -> (text, vector)


@dataclass(frozen=True)
class DenseExtras:
    """Per index position: the label vector; and the question vectors with their positions."""

    labels: np.ndarray | None = None
    keys: np.ndarray | None = None
    owners: np.ndarray | None = None

    @classmethod
    def build(
        cls, index: LexicalIndex, headings: dict[str, np.ndarray], phrasings: Phrasings
    ) -> DenseExtras:
        if index.vectors is None or not len(index):
            return cls()
        rows = [headings.get(chunk_id, index.vectors[i]) for i, chunk_id in enumerate(index.ids)]
        keys: list[np.ndarray] = []
        owners: list[int] = []
        for position, meta in enumerate(index.metadatas):
            if meta.get("kind") != "qa":
                continue
            chunk_id = index.ids[position]
            for vec in [headings.get(chunk_id)] + [v for _, v in phrasings.get(chunk_id, [])]:
                if vec is not None:
                    keys.append(vec)
                    owners.append(position)
        return cls(
            labels=np.stack(rows).astype(np.float32),
            keys=np.stack(keys).astype(np.float32) if keys else None,
            owners=np.asarray(owners, dtype=np.int64) if keys else None,
        )

    def score_all(
        self,
        cosines: np.ndarray,
        vector: np.ndarray,
        *,
        label_weight: float,
        question_weight: float,
    ) -> np.ndarray:
        """Dense scores of every index position from their chunk cosines."""
        scores = cosines
        if self.labels is not None and label_weight:
            scores = (1 - label_weight) * scores + label_weight * (self.labels @ vector)
        if self.keys is not None and self.owners is not None and question_weight:
            best = scores.copy()
            np.maximum.at(best, self.owners, self.keys @ vector)
            scores = (1 - question_weight) * scores + question_weight * best
        return scores

    def score_one(
        self,
        cosine: float,
        position: int,
        vector: np.ndarray,
        *,
        label_weight: float,
        question_weight: float,
    ) -> float:
        """The dense score of the chunk at `position` from its cosine."""
        if self.labels is not None and label_weight:
            label = float(self.labels[position] @ vector)
            cosine = (1 - label_weight) * cosine + label_weight * label
        if self.keys is None or self.owners is None or not question_weight:
            return cosine
        mine = self.keys[self.owners == position]
        if not len(mine):
            return cosine
        best = max(cosine, float((mine @ vector).max()))
        return (1 - question_weight) * cosine + question_weight * best


def blend_hits(
    store: ChunkStore,
    hits: list[StoredChunk],
    vector: np.ndarray,
    *,
    label_weight: float,
    question_weight: float,
) -> list[StoredChunk]:
    """Chroma's nearest chunks re-scored as in memory, best first (their label and phrasing
    vectors fetched from the store for these candidates only)."""
    if not hits or not (label_weight or question_weight):
        return hits
    ids = [h.id for h in hits]
    labels = store.heading_vectors(ids)
    phrasings = store.phrasings_of(ids) if question_weight else {}
    out = []
    for hit in hits:
        score = hit.score
        label = labels.get(hit.id)
        if label is not None and label_weight:
            score = (1 - label_weight) * score + label_weight * float(label @ vector)
        keys = list(phrasings.get(hit.id, []))
        if label is not None and hit.metadata.get("kind") == "qa":
            keys.append(label)
        if keys and question_weight:
            best = max(score, max(float(k @ vector) for k in keys))
            score = (1 - question_weight) * score + question_weight * best
        out.append(replace(hit, score=score))
    return sorted(out, key=lambda h: -h.score)


def chunk_label(metadata: Mapping[str, Any]) -> str:
    """A stored chunk's heading label, as ingest labels it (knowledge.ingest)."""
    if metadata.get("kind") == "qa" and metadata.get("heading"):
        return str(metadata["heading"])
    return heading_label(str(metadata.get("title", "")), str(metadata.get("heading", "")))


def missing_labels(index: LexicalIndex, stored: Mapping[str, np.ndarray]) -> dict[str, str]:
    """chunk id -> heading label, for chunks stored without a heading vector."""
    return {
        chunk_id: chunk_label(index.metadatas[i])
        for i, chunk_id in enumerate(index.ids)
        if chunk_id not in stored
    }


def index_text(chunk: StoredChunk, phrasings: list[str] | None = None) -> str:
    """What BM25 indexes for a chunk."""
    meta = chunk.metadata
    if meta.get("kind") == "qa" and meta.get("heading"):
        # the file name of a FAQ ("store_faq.json") is in every entry: no keyword value
        return "\n".join([str(meta["heading"]), *(phrasings or []), chunk.text])
    return f"{meta.get('title', '')} {meta.get('heading', '')}\n{chunk.text}"
