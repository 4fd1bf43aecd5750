"""The dense score of a chunk: its cosine, its heading label's, and its Q&A question phrasings'.

    s           = (1 − l) × cosine(query, chunk) + l × cosine(query, "title: heading" label)
    dense score = (1 − q) × s + q × max(s, best cosine with the chunk's question phrasings)

The phrasings are a Q&A answer's main question (its heading label) and every other phrasing its
entry gives (knowledge/rows.py). With the vectors in memory (`DenseExtras`) every chunk is
scored by a few matrix products; a store too large for memory scores Chroma's nearest chunks
with their labels and phrasings fetched for them alone (`blend_hits`).

Two ranking signals are kept beside the dense score, for the fused order only (passage scores
and answerability stay the dense score): each in-memory chunk's best *sentence* cosine
(`Sentences`: a long section is found by the one sentence that answers, not by its average),
and which chunks are an article's lead (the text before the first heading of an article that
has sections: an overview that shares words with every section below it).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
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


_UNIT_SPLIT = re.compile(r"(?<=[.!?:])\s+|\n+")
_UNIT_STRIP = " -*|#>"
_MIN_UNIT = 12  # characters: shorter pieces ("| --- |", "Phone:") are no sentence


def sentence_units(metadata: Mapping[str, Any], text: str) -> list[str]:
    """A chunk's sentences, list items and table rows, each read under its heading ("Refunds
    over $250: The review usually adds 1–2 business days."), as `Sentences` embeds them."""
    label = str(metadata.get("heading") or metadata.get("title") or "").strip()
    units = [u.strip(_UNIT_STRIP) for u in _UNIT_SPLIT.split(text)]
    units = [u for u in units if len(u) >= _MIN_UNIT] or [text.strip()]
    return [f"{label}: {u}" if label else u for u in units if u]


@dataclass(frozen=True)
class Sentences:
    """Every in-memory chunk's sentence vectors, and the chunk (index position) each belongs to."""

    vectors: np.ndarray
    owners: np.ndarray
    size: int  # index positions

    def best(self, vector: np.ndarray) -> np.ndarray:
        """Per index position, the best cosine of one of its sentences with the query."""
        out = np.full(self.size, -1.0, dtype=np.float32)
        np.maximum.at(out, self.owners, self.vectors @ vector)
        return out


# embedder -> text -> vector (by the embedder object: two test doubles may share a model id)
_SENTENCE_MEMO: weakref.WeakKeyDictionary[Any, OrderedDict[str, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)
_SENTENCE_MEMO_LOCK = threading.Lock()
_SENTENCE_MEMO_SIZE = 50_000  # sentence vectors kept per model (~77 MB at 50,000)


def embed_sentences(embedder: Any, index: LexicalIndex, *, max_units: int) -> Sentences | None:
    """The sentence vectors of every chunk of `index` (None above `max_units` sentences).

    Embedding a help center's sentences takes a second or two (~500 for the demo); each vector is
    kept in the process by model and text, so a rebuilt index (another process ingested a
    document) embeds only the sentences that are new, and a second store over the same content
    none."""
    if index.vectors is None or not len(index):
        return None
    texts: list[str] = []
    owners: list[int] = []
    for position, (meta, text) in enumerate(zip(index.metadatas, index.texts, strict=True)):
        if meta.get("kind") == "qa":
            continue  # a Q&A answer is found by its question phrasings
        units = sentence_units(meta, text)
        texts += units
        owners += [position] * len(units)
        if len(texts) > max_units:
            return None
    if not texts:
        return None
    with _SENTENCE_MEMO_LOCK:
        try:
            memo = _SENTENCE_MEMO.setdefault(embedder, OrderedDict())
        except TypeError:  # an embedder that cannot be weakly referenced: no memo
            memo = OrderedDict()
        missing = [t for t in dict.fromkeys(texts) if t not in memo]
    fresh = _embed_in_batches(embedder, missing) if missing else None
    with _SENTENCE_MEMO_LOCK:
        if fresh is not None:
            memo.update(zip(missing, fresh, strict=True))
        found = {t: memo[t] for t in texts if t in memo}
        for text in found:
            memo.move_to_end(text)
        while len(memo) > _SENTENCE_MEMO_SIZE:
            memo.popitem(last=False)
    if len(found) < len(set(texts)):  # more sentences than the memo holds: computed directly
        vectors = _embed_in_batches(embedder, texts)
        return Sentences(vectors, np.asarray(owners, dtype=np.int64), len(index))
    vectors = np.stack([found[t] for t in texts]).astype(np.float32)
    if vectors.shape[1] != index.vectors.shape[1]:  # not the model that embedded the chunks
        return None
    return Sentences(vectors, np.asarray(owners, dtype=np.int64), len(index))


def _embed_in_batches(embedder: Any, texts: Sequence[str], batch: int = 256) -> np.ndarray:
    parts = [
        np.asarray(embedder.embed(list(texts[i : i + batch])), dtype=np.float32)
        for i in range(0, len(texts), batch)
    ]
    return np.concatenate(parts)


def lead_sections(metadatas: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """1.0 for each chunk that is the lead of an article with sections, else 0.0."""
    headings: dict[str, set[str]] = {}
    for meta in metadatas:
        headings.setdefault(str(meta.get("doc_id", "")), set()).add(str(meta.get("heading", "")))
    return np.asarray(
        [
            1.0
            if meta.get("kind") != "qa"
            and not meta.get("heading")
            and len(headings[str(meta.get("doc_id", ""))]) > 1
            else 0.0
            for meta in metadatas
        ],
        dtype=np.float32,
    )


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
