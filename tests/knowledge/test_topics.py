"""Ranking with the agent's intent reading (HybridRetriever.use_topics, topic_weight).

The signal: the cosine between the question's and each chunk's intent distribution, added to the
fused score. The eval (docs/knowledge.md) measures its weight; these tests pin the mechanism, its
guards, and that the served app and `kb search` rank with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from agent.local.intents import IntentClassifier
from evals.retrieval.systems import replace_config
from knowledge.base import KnowledgeBase, build_knowledge_base
from knowledge.retriever import HybridRetriever
from knowledge.types import Embedder
from settings import Settings
from tests.knowledge.conftest import write

ARTICLES = {
    "returns.md": "# Returns\n\n## Sending an item back\n\n"
    "Send the item back within 30 days with the prepaid label for a refund.\n",
    "exchanges.md": "# Exchanges\n\n## Swapping a size\n\n"
    "Send the item back with the prepaid label and we ship the other size.\n",
}


class KeywordTopics:
    """A topic reader with two topics, read from one keyword each (and a vector check)."""

    def __init__(self, embedder: Any, *, fail: bool = False) -> None:
        self.embedder = embedder
        self.fail = fail
        self.calls: list[int] = []

    def topic_distribution(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        if self.fail:
            raise RuntimeError("classifier unavailable")
        assert len(vectors) == len(texts)
        self.calls.append(len(texts))
        rows = [[0.1, 0.9] if ("swap" in t.lower() or "size" in t.lower()) else [0.9, 0.1]
                for t in texts]  # fmt: skip
        return np.asarray(rows, dtype=np.float32)


@pytest.fixture
def two_articles(tmp_path: Path, embedder: Embedder) -> KnowledgeBase:
    for name, text in ARTICLES.items():
        write(tmp_path / "docs" / name, text)
    kb = build_knowledge_base(Settings(env="test", data_dir=tmp_path / "kb"), embedder)
    assert kb.ingest([tmp_path / "docs"]).chunks_added == 2
    return kb


# close for both articles: which one wins is the topic reader's to decide
RACE = "how do I send my item back with the label, I need another size"


def top_titles(retriever: HybridRetriever, query: str) -> list[str]:
    return [s.chunk.metadata["title"] for s in retriever.rank(query, 2).passages]


def strong(retriever: HybridRetriever) -> HybridRetriever:
    """The same store with a topic weight that must decide a close race."""
    return replace_config(retriever, replace(retriever.config, topic_weight=1.0))


def test_a_question_of_the_chunks_topic_lifts_that_chunk(
    two_articles: KnowledgeBase, embedder: Embedder
) -> None:
    retriever = strong(two_articles.retriever)
    plain = top_titles(retriever, RACE)
    reader = KeywordTopics(embedder)
    assert retriever.use_topics(reader)
    ranked = top_titles(retriever, RACE)
    assert ranked[0] == "Exchanges" and sorted(ranked) == sorted(plain)
    # a question of the other topic lifts the other article
    assert top_titles(retriever, "send my item back with the label for a refund")[0] == "Returns"
    # the chunks were read once (2 of them), then one question per search
    assert reader.calls == [2, 1, 1]
    # and the signal leaves the passage's score (a cosine) alone: it moves the order only
    passages = retriever.search(RACE, k=2).passages
    assert all(-1.0 <= p.score <= 1.0 for p in passages)
    # each passage carries its topic cosine, for the answer step (agent/local/passages.py)
    topics = {p.title: p.topic for p in passages}
    assert topics["Exchanges"] is not None and topics["Returns"] is not None
    assert topics["Exchanges"] > topics["Returns"]


def test_a_reader_of_another_embedding_model_is_refused(two_articles: KnowledgeBase) -> None:
    class Other:
        model_id = "some-other-model"
        dimension = 384

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            return np.zeros((len(texts), 384), dtype=np.float32)

    retriever = strong(two_articles.retriever)
    reader = KeywordTopics(Other())
    assert not retriever.use_topics(reader)
    assert retriever.topics is None
    retriever.rank("I need another size", 2)
    assert reader.calls == []


def test_a_failing_reader_does_not_stop_the_help_center(
    two_articles: KnowledgeBase, embedder: Embedder
) -> None:
    retriever = strong(two_articles.retriever)
    plain = top_titles(retriever, RACE)
    assert retriever.use_topics(KeywordTopics(embedder, fail=True))
    assert top_titles(retriever, RACE) == plain


def test_the_intent_classifier_finds_the_section_a_customer_means(
    demo_kb: KnowledgeBase, embedder: Embedder
) -> None:
    """A blind dev-split question the product answered from the wrong section before."""
    retriever = replace_config(demo_kb.retriever, demo_kb.retriever.config)  # shared kb: a copy
    assert retriever.use_topics(IntentClassifier(embedder))
    question = "i want to give back the jacket, it is not what i expected. how i do this?"
    top = retriever.rank(question, 3).passages[0].chunk.metadata
    assert (top["title"], top["heading"]) == ("Returns Policy", "How to start a return")
    distribution = IntentClassifier(embedder).topic_distribution(
        np.asarray(embedder.embed([question])), [question]
    )
    assert distribution.shape[0] == 1 and abs(float(distribution.sum()) - 1.0) < 1e-5


def test_served_app_and_kb_search_rank_with_the_intent_reader(
    tmp_path: Path, embedder: Embedder, triager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services import build_services
    from tests.conftest import run_sync
    from tests.fakes import MemoryStore

    settings = Settings(env="test", data_dir=tmp_path / "app", demo=False)

    async def served() -> Any:
        services = await build_services(
            settings, embedder=embedder, triager=triager, store=MemoryStore()
        )
        try:
            return services.knowledge.retriever.topics  # type: ignore[attr-defined]
        finally:
            await services.close()

    assert run_sync(served()) is triager.intents

    from knowledge import cli

    seen: list[Any] = []
    original = KnowledgeBase.use_topics

    def spy(self: KnowledgeBase, reader: Any) -> bool:
        seen.append(reader)
        return original(self, reader)

    monkeypatch.setattr(KnowledgeBase, "use_topics", spy)
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(tmp_path / "cli"))
    result = CliRunner().invoke(cli.app, ["search", "where is my refund", "--json"])
    assert result.exit_code == 0, result.output
    assert len(seen) == 1 and isinstance(seen[0], IntentClassifier)
    assert json.loads(result.output.splitlines()[-1])["query"] == "where is my refund"
