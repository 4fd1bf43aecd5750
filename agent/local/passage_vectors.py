"""The vectors of help-center units (sentences, list items, table rows) and section labels,
per embedder: kept in memory, and in a file that `serve --workers N` computes once in its
warm-up child and each worker reads (agent/local/passages.py scores answers with them)."""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Embed = Callable[[Sequence[str]], np.ndarray]

_CACHE_SIZE = 4096
_cache: weakref.WeakKeyDictionary[Any, OrderedDict[str, np.ndarray]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def embed_cached(embed: Embed, texts: list[str]) -> np.ndarray:
    """`embed(texts)`, remembering each text's vector per embedder: help-center passages come
    back again and again, and embedding their sentences is most of an answer's cost."""
    owner = getattr(embed, "__self__", None)
    try:
        with _cache_lock:
            cache = _cache.setdefault(owner, OrderedDict()) if owner is not None else None
    except TypeError:  # an owner that cannot be weakly referenced: no cache
        cache = None
    if cache is None:
        return np.asarray(embed(texts), dtype=np.float32)
    with _cache_lock:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
    if missing:
        vectors = np.asarray(embed(missing), dtype=np.float32)
        with _cache_lock:
            for text, vector in zip(missing, vectors, strict=True):
                cache[text] = vector
            while len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)
    with _cache_lock:
        for text in texts:
            cache.move_to_end(text)
        return np.stack([cache[t] for t in texts])


def keep(embed: Embed, texts: list[str], *, cache_dir: Path | None = None, batch: int = 64) -> int:
    """Puts the vectors of `texts` in `embed`'s cache: read from the file named by a hash of the
    model and the texts under `cache_dir` when there is one, else embedded (and the file
    written). Returns how many were cached."""
    texts = texts[:_CACHE_SIZE]
    owner = getattr(embed, "__self__", None)
    digest = hashlib.sha256(str(getattr(owner, "model_id", "")).encode())
    digest.update("\0".join(texts).encode())
    path = cache_dir / f"passage-units-{digest.hexdigest()[:24]}.npy" if cache_dir else None
    vectors: np.ndarray | None = None
    if path is not None and path.exists():
        try:
            vectors = np.load(path)
        except (OSError, ValueError):  # a torn or foreign file: computed again below
            vectors = None
        if vectors is not None and vectors.shape[0] != len(texts):
            vectors = None
    if vectors is None:
        parts = [np.asarray(embed(texts[i : i + batch])) for i in range(0, len(texts), batch)]
        vectors = np.concatenate(parts).astype(np.float32)
        if path is not None:
            _save(path, vectors)
    with _cache_lock:
        cache = _cache.setdefault(owner, OrderedDict()) if owner is not None else None
        if cache is None:
            return 0
        for text, vector in zip(texts, vectors, strict=True):
            cache[text] = vector
            cache.move_to_end(text)
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return len(texts)


def _save(path: Path, vectors: np.ndarray) -> None:
    """Written whole or not at all (workers may read it meanwhile); older files go."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob("passage-units-*.npy"):
        if old != path:
            old.unlink(missing_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        np.save(f, vectors)
    os.replace(tmp, path)
