"""What the customer means, as a ranking signal: the cosine between the question's and each
chunk's topic distribution (knowledge.types.TopicReader; the served app gives the agent's intent
classifier). The chunks' distributions are read once per keyword index, from the vectors already
in memory and each chunk's "title: heading. text"; nothing more is embedded."""

from __future__ import annotations

import logging
import threading

import numpy as np

from knowledge.dense import chunk_label
from knowledge.embedding_space import embedder_id
from knowledge.lexical import LexicalIndex
from knowledge.types import Embedder, TopicReader

log = logging.getLogger(__name__)


class ChunkTopics:
    """One retriever's topic reader and the distributions it read for the current index."""

    def __init__(self) -> None:
        self.reader: TopicReader | None = None
        self._lock = threading.Lock()
        self._rows: np.ndarray | None = None  # unit rows, one per in-memory chunk
        self._index: LexicalIndex | None = None  # the index _rows were read for

    def use(self, reader: TopicReader | None, embedder: Embedder) -> bool:
        """Read with `reader` from now on (None: stop). A reader that embeds with another model
        than `embedder` (the store's) is refused, its vectors would not match: False."""
        if reader is not None and not (
            reader.embedder is embedder or embedder_id(reader.embedder) == embedder_id(embedder)
        ):
            log.warning("topic reader ignored: it embeds with another model than the store")
            return False
        with self._lock:
            self.reader, self._rows, self._index = reader, None, None
        return True

    def warm(self, index: LexicalIndex) -> None:
        """Read the chunks' distributions now (at start-up) rather than at the first search."""
        if self.reader is not None and index.vectors is not None and len(index):
            self._chunk_rows(index, self.reader)

    def cosines(self, index: LexicalIndex, vector: np.ndarray, searched: str) -> np.ndarray | None:
        """Per in-memory chunk, the cosine between its topic distribution and the query's
        (None without a reader, or when the vectors are not in memory)."""
        reader = self.reader
        if reader is None or index.vectors is None or not len(index):
            return None
        try:
            rows = self._chunk_rows(index, reader)
            query = np.asarray(reader.topic_distribution(vector[None, :], [searched])[0])
        except Exception:  # a broken reader must not stop the help center from answering
            log.exception("topic reader failed; ranking without it")
            return None
        norm = float(np.linalg.norm(query))
        return rows @ (query / norm) if norm > 0 else None

    def _chunk_rows(self, index: LexicalIndex, reader: TopicReader) -> np.ndarray:
        with self._lock:
            if self._index is index and self._rows is not None:
                return self._rows
        texts = [f"{chunk_label(index.metadatas[i])}. {index.texts[i]}" for i in range(len(index))]
        rows = np.asarray(reader.topic_distribution(index.vectors, texts), dtype=np.float32)
        rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
        with self._lock:
            self._rows, self._index = rows, index
        return rows
