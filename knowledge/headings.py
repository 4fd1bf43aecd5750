"""The "title: heading" vectors of chunks, for the retriever's heading signal: the best cosine
between a query and the labels of its top passages (knowledge/retriever.py `heading_top`).

Ingest stores each chunk's heading vector in the store's sibling collection. With the chunks in
memory they are all read at each index build (and those a store written before heading vectors
existed lacks are embedded then, each distinct label once); otherwise the store is asked for a
query's top passages only. Labels missing from both are embedded on demand, all of a query's in
one batch, and kept in a bounded cache: a help center has far fewer distinct headings than it
gets questions."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from knowledge.dense import chunk_label, missing_labels
from knowledge.lexical import LexicalIndex
from knowledge.ranking import Scored
from knowledge.store import ChunkStore
from knowledge.types import Embedder


class HeadingVectors:
    """One retriever's heading vectors: by chunk id from the store, by label embedded here."""

    def __init__(self, store: ChunkStore, embedder: Embedder, cache_size: int) -> None:
        self._store = store
        self._embedder = embedder
        self._cache_size = cache_size
        self._labels: OrderedDict[str, np.ndarray] = OrderedDict()  # by label, embedded here
        self._lock = threading.Lock()
        self.stored: dict[str, np.ndarray] | None = None  # by chunk id (chunks in memory)

    def rebuild(self, index: LexicalIndex, in_memory: bool) -> dict[str, np.ndarray] | None:
        """At an index build: every chunk's vector when the chunks are in memory (else None)."""
        self.stored = self._all(index) if in_memory else None
        return self.stored

    def _all(self, index: LexicalIndex) -> dict[str, np.ndarray]:
        stored = self._store.heading_vectors()
        missing = missing_labels(index, stored)
        if missing:
            labels = list(dict.fromkeys(missing.values()))
            vectors = dict(zip(labels, np.asarray(self._embedder.embed(labels)), strict=True))
            stored.update({i: vectors[label] for i, label in missing.items()})
        return stored

    def top(self, passages: Sequence[Scored], vector: np.ndarray) -> float:
        """Best cosine between the query's `vector` and the "title: heading" of `passages`."""
        ids = [s.chunk.id for s in passages]
        stored = self.stored
        if stored is None:  # too many chunks to keep them all in memory: ask the store
            stored = self._store.heading_vectors(ids)
        found = [stored[i] for i in ids if i in stored]
        if len(found) == len(ids):
            return max(float(v @ vector) for v in found)
        labels = list(
            dict.fromkeys(
                chunk_label(s.chunk.metadata) for s in passages if s.chunk.id not in stored
            )
        )
        with self._lock:
            known = {t: self._labels[t] for t in labels if t in self._labels}
        missing = [t for t in labels if t not in known]
        if missing:
            fresh = np.asarray(self._embedder.embed(missing), dtype=np.float32)
            with self._lock:
                for text, vec in zip(missing, fresh, strict=True):
                    known[text] = vec
                    self._labels[text] = vec
                while len(self._labels) > self._cache_size:
                    self._labels.popitem(last=False)
        return max(float(v @ vector) for v in [*found, *(known[t] for t in labels)])
