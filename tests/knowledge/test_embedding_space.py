"""A store records which model embedded it; opening it with another re-embeds everything."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from knowledge.base import KnowledgeBase, build_knowledge_base
from knowledge.embedder import MINILM_SPACE, SUPPORT_SPACE, MiniLMEmbedder, make_embedder
from knowledge.embedding_space import embedder_id
from knowledge.ingest import embedding_inputs
from knowledge.types import Embedder
from settings import Settings
from tests.knowledge.conftest import CountingEmbedder, write


class OtherModel:
    """Another vector space: the real model's vectors through a fixed random projection, so
    meanings survive but no vector equals the original model's."""

    space = "other-model-for-tests"
    answer_floor = 0.21
    coverage_weight = 0.2

    def __init__(self, inner: Embedder, dimension: int = 384) -> None:
        rng = np.random.default_rng(7)
        basis, _ = np.linalg.qr(rng.normal(size=(inner.dimension, inner.dimension)))
        self.projection = basis[:, :dimension].astype(np.float32)
        self.inner = inner
        self.dimension = dimension
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        vectors = np.asarray(self.inner.embed(texts)) @ self.projection
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def help_center(folder: Path) -> Path:
    write(folder / "returns.md", "# Returns\n\n## Window\n\nReturn unworn items within 30 days.")
    entries = [
        {
            "questions": ["Do gift cards expire?", "how long is a gift card valid"],
            "answer": "Gift cards never expire.",
        },
        {"question": "Do you ship to Canada?", "answer": "Yes, in 5 to 8 business days."},
    ]
    write(folder / "faq.json", json.dumps(entries))
    return folder


def _assert_store_holds(kb: KnowledgeBase, model: OtherModel) -> None:
    chunks = list(kb.store.iter_chunks(with_embeddings=True))
    headings = kb.store.heading_vectors()
    assert len(chunks) == len(headings) == 3
    for chunk in chunks:
        meta = chunk.metadata
        text, label = embedding_inputs(meta["kind"], meta["title"], meta["heading"], chunk.text)
        assert chunk.embedding is not None and len(chunk.embedding) == model.dimension
        np.testing.assert_allclose(chunk.embedding, model.embed([text])[0], atol=1e-4)
        np.testing.assert_allclose(headings[chunk.id], model.embed([label])[0], atol=1e-4)
    ((_, phrasing, vector),) = kb.store.phrasings()
    assert phrasing == "how long is a gift card valid" and vector is not None
    np.testing.assert_allclose(vector, model.embed([phrasing])[0], atol=1e-4)


@pytest.mark.parametrize("dimension", [384, 256])
def test_opening_with_another_model_reembeds_everything_and_resets_the_floor(
    tmp_path: Path,
    make_kb: Callable[..., KnowledgeBase],
    embedder: Embedder,
    dimension: int,
) -> None:
    first = make_kb()
    first.ingest([help_center(tmp_path / "help")])
    assert first.store.embedder_id() == embedder_id(embedder)  # the product's model
    assert first.answer_floor == pytest.approx(getattr(embedder, "answer_floor", 0.0))

    other = OtherModel(embedder, dimension)
    kb = build_knowledge_base(Settings(env="test", data_dir=tmp_path / "kb"), other)
    assert kb.answer_floor == pytest.approx(0.21)  # that model's own floor
    assert kb.retriever.config.coverage_weight == pytest.approx(0.2)  # fitted with it
    assert first.retriever.config.coverage_weight == pytest.approx(  # the product model's
        getattr(embedder, "coverage_weight", 0.0)
    )
    assert kb.retriever.config.coverage_weight != first.retriever.config.coverage_weight
    result = kb.search("how long is my gift card good for")
    assert result.passages[0].title == "Do gift cards expire?"
    assert kb.store.embedder_id() == "other-model-for-tests"
    _assert_store_holds(kb, other)

    # re-ingesting the same files with the new model embeds nothing more
    before = len(other.texts)
    report = kb.ingest([tmp_path / "help"])
    assert report.documents_unchanged == 2 and len(other.texts) == before
    assert kb.search("can you send my order to Canada").passages[0].title == (
        "Do you ship to Canada?"
    )


def test_ingest_with_another_model_reembeds_before_adding(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase], embedder: Embedder
) -> None:
    make_kb().ingest([help_center(tmp_path / "help")])
    other = OtherModel(embedder)
    kb = build_knowledge_base(Settings(env="test", data_dir=tmp_path / "kb"), other)
    write(tmp_path / "more" / "hours.md", "# Hours\n\nWe answer 9 to 6, Monday to Friday.")
    kb.ingest([tmp_path / "more"])
    assert kb.count() == 4 and kb.store.embedder_id() == other.space
    hours = [c for c in kb.store.iter_chunks(with_embeddings=True) if c.id == "hours.md#0"]
    text, _ = embedding_inputs("markdown", "Hours", "", hours[0].text)
    np.testing.assert_allclose(hours[0].embedding, other.embed([text])[0], atol=1e-4)


def test_a_store_without_a_recorded_model_is_taken_as_minilm(tmp_path: Path) -> None:
    """Stores written before the model id was recorded were all MiniLM's: MiniLM opens one as it
    is, and any other model (the fine-tuned default) re-embeds it."""
    settings = Settings(env="test", data_dir=tmp_path / "kb")
    minilm = CountingEmbedder(MiniLMEmbedder(backend="onnx"))
    kb = build_knowledge_base(settings, minilm)
    kb.ingest([help_center(tmp_path / "help")])
    kb.search("do you ship abroad")  # its sentences embedded once, as any process's first search
    chunks = kb.count()

    def forget_the_model(opened: KnowledgeBase) -> None:
        with opened.store.writing():
            opened.store.set_embedder_id("")  # as written before the id was recorded
        assert opened.store.embedder_id() == ""

    forget_the_model(kb)
    counted = minilm.count
    again = build_knowledge_base(settings, minilm)
    again.search("do gift cards expire")
    assert minilm.count == counted + 1  # the query alone: nothing re-embedded
    assert again.store.embedder_id() == embedder_id(minilm) == MINILM_SPACE

    forget_the_model(again)
    support = CountingEmbedder(make_embedder("support"))
    reopened = build_knowledge_base(settings, support)
    assert reopened.search("do gift cards expire").passages[0].title == "Do gift cards expire?"
    assert support.count >= chunks + 1  # every chunk re-embedded, then the query
    assert reopened.store.embedder_id() == SUPPORT_SPACE


def test_an_explicit_floor_setting_wins_over_the_models(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(env="test", data_dir=tmp_path / "kb", kb_answer_floor=0.4)
    assert build_knowledge_base(settings, OtherModel(embedder)).answer_floor == 0.4
