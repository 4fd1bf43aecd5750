"""Which model's vectors a collection holds, and re-embedding it when the model changes.

Vectors of two models are not comparable: a question embedded by one model and passages embedded
by another give cosines that mean nothing, silently. So the collection records the id of the
vector space it was built in (`embedder_id`), and the first ingest or search that finds another
id embeds every chunk, heading label and Q&A phrasing again with the model in use, from the texts
the store already holds (no source file needs to be read again). The new vectors are written to
fresh collections that replace the old ones only once complete, so a failure midway leaves the
store as it was. Every process sharing a store must use the same embedder (`SUPPORT_EMBEDDER`),
or each would re-embed it on its turn.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from knowledge.rows import PHRASING_OF, Rows, phrasing_id
from knowledge.types import Embedder

if TYPE_CHECKING:
    from knowledge.store import ChunkStore

log = logging.getLogger(__name__)

# Stores written before the id was recorded were all built with all-MiniLM-L6-v2.
LEGACY_ID = "all-MiniLM-L6-v2"
DEFAULT_ANSWER_FLOOR = 0.351  # fitted for all-MiniLM-L6-v2 (evals/retrieval)


def embedder_id(embedder: Embedder) -> str:
    """The vector space an embedder writes: builds of one model that agree (int8 ONNX and fp32
    MiniLM, cosine ≥ 0.999) share it; anything else gets its own."""
    for attribute in ("space", "model_id"):
        value = getattr(embedder, attribute, None)
        if isinstance(value, str) and value:
            return value
    return f"{type(embedder).__name__}/{embedder.dimension}"


def default_answer_floor(embedder: Embedder) -> float:
    """The answerability floor fitted for this embedder's model (cosine scale)."""
    value = getattr(embedder, "answer_floor", None)
    return float(value) if isinstance(value, int | float) else DEFAULT_ANSWER_FLOOR


def default_coverage_weight(embedder: Embedder, fallback: float) -> float:
    """How much keyword coverage moves the answerability score, as fitted for this embedder's
    model along with its floor (`fallback`: the retrieval config's own default)."""
    value = getattr(embedder, "coverage_weight", None)
    return float(value) if isinstance(value, int | float) else fallback


def ensure_embedder(store: ChunkStore, embedder: Embedder) -> bool:
    """Make the store hold `embedder`'s vectors; True if it had to embed everything again."""
    wanted = embedder_id(embedder)
    if store.embedder_id() == wanted:
        return False
    with store.writing():
        recorded = store.embedder_id()  # another process may have done it meanwhile
        if recorded == wanted:
            return False
        if store.count() == 0 or (not recorded and wanted == LEGACY_ID):
            store.set_embedder_id(wanted)
            return False
        log.warning(
            "knowledge store %s was embedded with %s; embedding it again with %s",
            store.collection_name,
            recorded or LEGACY_ID,
            wanted,
        )
        reembed(store, embedder)
        store.set_embedder_id(wanted)
        return True


def reembed(store: ChunkStore, embedder: Embedder, batch: int = 256) -> int:
    """Embed every chunk, heading label and phrasing again; returns the number of chunks."""
    from knowledge.ingest import embed_passages, embedding_inputs

    chunks = list(store.iter_chunks())
    phrasings = store.phrasings(with_embeddings=False)
    inputs = [
        embedding_inputs(
            str(c.metadata.get("kind", "")),
            str(c.metadata.get("title", "")),
            str(c.metadata.get("heading", "")),
            c.text,
        )
        for c in chunks
    ]
    labels = list(dict.fromkeys(label for _, label in inputs))
    passages = [text for text, _ in inputs]
    questions = labels + [text for _, text, _ in phrasings]
    parts = [embed_passages(embedder, passages[i : i + batch]) for i in _starts(passages, batch)]
    parts += [
        np.asarray(embedder.embed(questions[i : i + batch])) for i in _starts(questions, batch)
    ]
    vectors = np.concatenate(parts or [np.zeros((0, embedder.dimension))]).astype(np.float32)
    n, m = len(chunks), len(labels)
    label_vectors = dict(zip(labels, vectors[n : n + m], strict=True))
    chunk_rows, heading_rows = Rows(), Rows()
    for chunk, (_, label), vector in zip(chunks, inputs, vectors[:n], strict=True):
        chunk_rows.append(chunk.id, vector, chunk.text, chunk.metadata)
        doc_id = str(chunk.metadata.get("doc_id", ""))
        heading_rows.append(chunk.id, label_vectors[label], label, {"doc_id": doc_id})
    doc_of = {c.id: str(c.metadata.get("doc_id", "")) for c in chunks}
    counters: dict[str, int] = {}
    for (chunk_id, text, _), vector in zip(phrasings, vectors[n + m :], strict=True):
        if chunk_id not in doc_of:
            continue  # its chunk is gone
        counters[chunk_id] = counters.get(chunk_id, 0) + 1
        meta = {"doc_id": doc_of[chunk_id], PHRASING_OF: chunk_id}
        heading_rows.append(phrasing_id(chunk_id, counters[chunk_id]), vector, text, meta)
    store.replace_all(chunk_rows, heading_rows)
    return len(chunks)


def _starts(items: list[str], batch: int) -> range:
    return range(0, len(items), batch)


__all__ = [
    "DEFAULT_ANSWER_FLOOR",
    "LEGACY_ID",
    "default_answer_floor",
    "embedder_id",
    "ensure_embedder",
    "reembed",
]
