"""The embedder's builds: MiniLM as int8 ONNX (default) and fp32 through PyTorch, and the
project's fine-tuned MiniLM (`support`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import knowledge.embedder as embedder_module
from knowledge.embedder import MiniLMEmbedder

TEXTS = [
    "where is my order",
    "Can I return hiking boots I wore once on a trail? They hurt after two miles.",
    "retrun polcy?",
    "Orders over $75 ship free within the contiguous US. " * 12,  # longer than one batch row
    "é ü 日本語 🙂",
]


def test_onnx_vectors_match_the_fp32_model() -> None:
    onnx = MiniLMEmbedder(backend="onnx", cache_size=0).embed(TEXTS)
    torch = MiniLMEmbedder(backend="torch", cache_size=0).embed(TEXTS)
    assert onnx.shape == torch.shape == (len(TEXTS), 384)
    assert onnx.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    cosines = (onnx * torch).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    # and they still tell texts apart the same way
    assert np.argmax(onnx[1:4] @ onnx[0]) == np.argmax(torch[1:4] @ torch[0])


@pytest.mark.parametrize("backend", ["onnx", "support"])
def test_batches_equal_single_embeddings(backend: str) -> None:
    """A help-center chunk is embedded in a batch, a question alone: both must land in the same
    place (a dynamically quantised build of the fine-tuned model moved them ~0.01 apart)."""
    build = MiniLMEmbedder(backend=backend, cache_size=0)  # type: ignore[arg-type]
    one_by_one = np.stack([build.embed([t])[0] for t in TEXTS])
    batched = MiniLMEmbedder(backend=backend, batch_size=2, cache_size=0).embed(TEXTS)  # type: ignore[arg-type]
    assert np.allclose(one_by_one, batched, atol=1e-4)


def test_the_fine_tuned_build_is_its_own_space_with_its_own_floor() -> None:
    default, tuned = MiniLMEmbedder(cache_size=0), MiniLMEmbedder(backend="support", cache_size=0)
    assert default.space == MiniLMEmbedder(backend="torch").space == "all-MiniLM-L6-v2"
    assert (
        tuned.space == "support-minilm-l6-v1" and tuned.model_id == "support-minilm-l6-v1/int8-onnx"
    )
    assert (tuned.answer_floor, tuned.coverage_weight) != (
        default.answer_floor,
        default.coverage_weight,
    )
    vectors = tuned.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # another model: its vectors must never be mixed with MiniLM's in one store
    assert (vectors * default.embed(TEXTS)).sum(axis=1).max() < 0.99


@pytest.mark.parametrize("backend", ["onnx", "support"])
def test_the_default_build_never_imports_torch(backend: str) -> None:
    code = (
        "import sys; from knowledge.embedder import make_embedder; "
        f"e = make_embedder('{backend}'); v = e.embed(['where is my order']); "
        "print(v.shape, e.space, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    space = embedder_module.SUPPORT_SPACE if backend == "support" else embedder_module.MINILM_SPACE
    assert out.stdout.strip() == f"(1, 384) {space} False False"


def test_the_product_default_is_the_fine_tuned_build(monkeypatch: pytest.MonkeyPatch) -> None:
    from settings import Settings

    monkeypatch.delenv("SUPPORT_EMBEDDER", raising=False)
    assert embedder_module.DEFAULT_BACKEND == "support" == Settings(env="test").embedder
    assert embedder_module.make_embedder().space == embedder_module.SUPPORT_SPACE
    monkeypatch.setenv("SUPPORT_EMBEDDER", "onnx")
    assert Settings(env="test").embedder == "onnx"
    assert embedder_module.make_embedder().space == embedder_module.MINILM_SPACE


def test_a_damaged_model_file_is_refused(tmp_path: Path) -> None:
    damaged = tmp_path / "model.onnx"
    damaged.write_bytes(b"not a model")
    with pytest.raises(RuntimeError, match="sha256"):
        embedder_module._check_model_file(damaged, "0" * 64)
    with pytest.raises(RuntimeError, match="missing"):
        embedder_module._check_model_file(tmp_path / "absent.onnx", "0" * 64)


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="onnx"):
        MiniLMEmbedder(backend="tensorflow")  # type: ignore[arg-type]


def test_long_texts_are_embedded_in_smaller_batches() -> None:
    lengths = [8] * 100 + [128] * 20 + [256] * 5
    order = list(range(len(lengths)))
    groups = embedder_module._batches(order, lengths, batch_size=64)
    assert [i for g in groups for i in g] == order  # every text once, order kept
    for group in groups:
        width = max(lengths[i] for i in group)
        assert len(group) <= 64
        assert len(group) == 1 or len(group) * width * width <= embedder_module._ATTENTION_BUDGET
    assert [len(g) for g in groups[:2]] == [64, 36]  # short texts: full batches
    assert max(len(g) for g in groups if lengths[g[0]] == 256) == 2


class _Counting(MiniLMEmbedder):
    """Records every batch the model is run on."""

    def __init__(self) -> None:
        super().__init__()
        self.encoded: list[list[str]] = []

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.encoded.append(list(texts))
        return super()._encode(texts)


async def test_prefetch_batches_the_texts_of_concurrent_turns() -> None:
    import asyncio

    embedder = _Counting()
    texts = ["where is my order", "do you ship to canada", "how long do refunds take"]
    # three turns that reach the prefetch in the same pass of the event loop, one twice
    await asyncio.gather(*(embedder.prefetch([t]) for t in [*texts, texts[0]]))
    assert embedder.encoded == [texts]  # one model call for all, each text once
    # the turns' own embed() calls are cache hits, alone or as a few texts at once
    vectors = np.stack([embedder.embed([t])[0] for t in texts])
    assert embedder.embed(texts[:2]).shape == (2, 384)
    assert embedder.encoded == [texts]
    alone = MiniLMEmbedder(cache_size=0).embed(texts)
    assert np.allclose(vectors, alone, atol=1e-4)
    # a text already cached is not encoded again; a few texts call the model for the new one only
    await embedder.prefetch([texts[1]])
    embedder.embed([texts[2], "cancel my order"])
    assert embedder.encoded == [texts, ["cancel my order"]]


async def test_a_cancelled_turn_does_not_cancel_the_batch_others_wait_on() -> None:
    import asyncio

    embedder = _Counting()
    first = asyncio.ensure_future(embedder.prefetch(["where is my order"]))
    second = asyncio.ensure_future(embedder.prefetch(["where is my order", "hello there"]))
    await asyncio.sleep(0)  # both are waiting on the flush
    first.cancel()
    await second  # completes, not CancelledError
    assert embedder.encoded == [["where is my order", "hello there"]]
    assert "where is my order" in embedder._cache
