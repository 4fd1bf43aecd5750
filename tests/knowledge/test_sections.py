"""Which section of a long article answers: the best-sentence cosine and the lead-section rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from evals.retrieval.systems import replace_config
from knowledge.base import KnowledgeBase, build_knowledge_base
from knowledge.dense import Sentences, embed_sentences, lead_sections, sentence_units
from knowledge.embedder import MiniLMEmbedder
from knowledge.lexical import LexicalIndex
from settings import Settings
from tests.knowledge.conftest import CountingEmbedder, write

ARTICLE = """# Refunds

This article explains refunds: when your refund arrives, where the money goes, refunds for
lost parcels, and what to do when a refund has not arrived.

## When you get your refund

We inspect returns within 3 business days of receiving them. Packing slips are checked against
the order. Refunds are issued 5 to 10 business days after the parcel reaches our warehouse.

## Where the refund goes

By default the original payment method is refunded. Store credit is available instead.

## Lost parcels

A lost parcel is refunded in full, shipping included, once the carrier confirms the loss.

## Still waiting

Card refunds can take up to 10 business days to show on a statement. Some banks show a separate
credit. After that, write to us with your order number and we send the refund reference.
"""


def test_sentence_units_are_read_under_their_heading() -> None:
    units = sentence_units(
        {"heading": "Refunds over $250", "title": "Refunds"},
        "Refunds over $250 are reviewed. The review adds 1–2 days.\n\n- Ok\n- Store credit works",
    )
    assert units == [
        "Refunds over $250: Refunds over $250 are reviewed.",
        "Refunds over $250: The review adds 1–2 days.",
        "Refunds over $250: Store credit works",
    ]
    assert sentence_units({"title": "Hours"}, "Open 9 to 6 on weekdays.") == [
        "Hours: Open 9 to 6 on weekdays."
    ]


def test_only_the_lead_of_an_article_with_sections_is_a_lead() -> None:
    metadatas = [
        {"doc_id": "refunds.md", "heading": ""},
        {"doc_id": "refunds.md", "heading": "When"},
        {"doc_id": "hours.md", "heading": ""},  # an article without sections
        {"doc_id": "faq.json", "heading": "", "kind": "qa"},
        {"doc_id": "faq.json", "heading": "Do you ship abroad?", "kind": "qa"},
    ]
    assert lead_sections(metadatas).tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]


def test_a_chunk_scores_its_best_sentence() -> None:
    vectors = np.eye(3, dtype=np.float32)
    sentences = Sentences(vectors, np.array([0, 0, 2]), size=3)
    best = sentences.best(np.array([0.0, 0.6, 0.8], dtype=np.float32))
    assert best.tolist() == [0.6000000238418579, -1.0, 0.800000011920929]


def test_sections_outrank_the_overview(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    """MiniLM ranks the overview among the first two for these questions without the sentence
    cosine and the lead penalty, and below both sections with them; the product's model, with
    them, too."""
    write(tmp_path / "help" / "refunds.md", ARTICLE)
    settings = Settings(env="test", data_dir=tmp_path / "minilm")
    minilm = build_knowledge_base(settings, MiniLMEmbedder(backend="onnx"))
    kb = make_kb()
    for opened in (minilm, kb):
        opened.ingest([tmp_path / "help"])
    before = replace_config(
        minilm.retriever, replace(minilm.retriever.config, sentence_weight=0.0, lead_penalty=0.0)
    )
    for question in ["when is the refund issued", "refund not arrived yet", "my refund is missing"]:
        assert "" in [p.heading for p in before.search(question, k=2).passages]
        for opened in (minilm, kb):
            headings = [p.heading for p in opened.search(question, k=2).passages]
            assert "" not in headings and len(headings) == 2, question
    # the order moves, the scores do not: answerability is unchanged
    question = "when is the refund issued"
    assert minilm.search(question).confidence == before.search(question).confidence


def test_sentences_are_embedded_once_per_embedder(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase], counting_embedder: CountingEmbedder
) -> None:
    write(tmp_path / "help" / "refunds.md", ARTICLE)
    kb = make_kb()
    kb.ingest([tmp_path / "help"])
    kb.search("refund for a lost parcel")
    index = kb.retriever._lexical_index()  # noqa: SLF001 - the index the search used
    counted = counting_embedder.count
    again = embed_sentences(counting_embedder, index, max_units=1000)
    assert again is not None and counting_embedder.count == counted
    assert len(again.owners) == sum(
        len(sentence_units(m, t)) for m, t in zip(index.metadatas, index.texts, strict=True)
    )
    assert embed_sentences(counting_embedder, index, max_units=3) is None  # too many: off


def test_without_vectors_in_memory_there_are_no_sentences(
    counting_embedder: CountingEmbedder,
) -> None:
    index = LexicalIndex(["a#0"], ["hours text"], [{"doc_id": "a"}], texts=["Open daily."])
    assert embed_sentences(counting_embedder, index, max_units=100) is None
