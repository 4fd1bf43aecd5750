"""Q&A files: answers are titled by their question, and every phrasing of a question finds it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from knowledge.base import KnowledgeBase
from knowledge.cli import result_json
from knowledge.formats import qa_from_csv, qa_from_json
from knowledge.ingest import embedding_inputs
from knowledge.types import Embedder
from tests.knowledge.conftest import write

ENTRIES = [
    {
        "id": "p1",
        "questions": [
            "What does the Protection Plan cover?",
            "Can I insure my new laptop against drops and spills?",
            "is a cracked phone screen covered if I buy the extra plan",
        ],
        "answer": "The Protection Plan adds accidental damage cover for portable devices. "
        "Screens are repaired for a $49 service fee per claim.",
    },
    {
        "id": "p2",
        "question": "How long does standard delivery take?",
        "answer": "Standard delivery takes 3 to 5 business days after dispatch.",
    },
    {
        "id": "p3",
        "question": "Do gift cards expire?",
        "answer": "No. Gift cards never expire and have no fees.",
    },
]


def faq_file(folder: Path, entries: list[dict[str, object]] = ENTRIES) -> Path:
    return write(folder / "store_faq.json", json.dumps(entries))


def test_entries_keep_every_phrasing_and_the_main_question_first() -> None:
    entries = qa_from_json(json.dumps(ENTRIES).encode())
    assert [e.question for e in entries] == [
        "What does the Protection Plan cover?",
        "How long does standard delivery take?",
        "Do gift cards expire?",
    ]
    assert entries[0].also == (
        "Can I insure my new laptop against drops and spills?",
        "is a cracked phone screen covered if I buy the extra plan",
    )
    assert entries[1].also == ()
    # a CSV cell lists phrasings separated by "|"; a repeat of the main one is dropped
    csv = b'question,answer,questions\n"Hours?","9 to 6.","Hours? | When are you open"\n'
    (entry,) = qa_from_csv(csv)
    assert (entry.question, entry.also) == ("Hours?", ("When are you open",))


def test_results_and_citations_are_titled_by_the_question(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    kb = make_kb()
    kb.ingest([faq_file(tmp_path)])
    result = kb.search("when will my parcel arrive with normal shipping", k=2)
    top = result.passages[0]
    assert top.title == "How long does standard delivery take?"
    assert top.text.startswith("Standard delivery takes 3 to 5")
    assert result_json(result)["results"][0]["title"] == top.title  # `kb search --json`
    # the document itself keeps its file title for `kb list`
    assert [d.title for d in kb.documents()] == ["Store faq"]


def test_each_phrasing_is_embedded_and_finds_the_one_answer(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase], embedder: Embedder
) -> None:
    kb = make_kb()
    kb.ingest([faq_file(tmp_path)])
    stored = kb.store.phrasings()
    assert sorted(text for _, text, _ in stored) == sorted(ENTRIES[0]["questions"][1:])  # type: ignore[index]
    assert {chunk_id for chunk_id, _, _ in stored} == {"store_faq.json#0"}
    for _, text, vector in stored:
        assert vector is not None
        np.testing.assert_allclose(vector, embedder.embed([text])[0], atol=1e-5)

    query = "is my cracked phone screen covered by the extra plan"
    result = kb.search(query, k=3)
    top = result.passages[0]
    assert (top.id, top.title) == ("store_faq.json#0", "What does the Protection Plan cover?")
    # the passage's dense score used the closest phrasing, not only "question + answer"
    chunk_text, _ = embedding_inputs("qa", "Store faq", top.title, top.text)
    q = embedder.embed([query])[0]
    own = float(embedder.embed([chunk_text])[0] @ q)
    phrasing = float(embedder.embed([ENTRIES[0]["questions"][2]])[0] @ q)  # type: ignore[index]
    assert phrasing > own
    weight = kb.retriever.config.question_weight
    expected = (1 - weight) * own + weight * phrasing
    assert abs(top.score - expected) < 0.02 and top.score > own + 0.01
    assert len({p.id for p in result.passages}) == len(result.passages)  # one answer, once


def test_changed_phrasings_reingest_the_document_and_replace_the_old_ones(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    kb = make_kb()
    path = faq_file(tmp_path)
    kb.ingest([path])
    assert kb.ingest([path]).documents_unchanged == 1
    phrasings = [*ENTRIES[0]["questions"][:2], "Am I covered for a spill?"]  # type: ignore[index]
    faq_file(tmp_path, [dict(ENTRIES[0], questions=phrasings), *ENTRIES[1:]])
    report = kb.ingest([path])
    assert report.documents_updated == 1
    assert sorted(t for _, t, _ in kb.store.phrasings()) == [
        "Am I covered for a spill?",
        "Can I insure my new laptop against drops and spills?",
    ]
    kb.delete("store_faq.json")
    assert kb.store.phrasings() == [] and kb.count() == 0


def test_json_lines_and_yaml_faqs_ingest_with_their_phrasings(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    import yaml

    lines = "\n".join(json.dumps(e) for e in ENTRIES)
    kb = make_kb()
    report = kb.ingest(
        [
            write(tmp_path / "faq.jsonl", lines),
            write(
                tmp_path / "more.yml",
                yaml.safe_dump(
                    {
                        "sections": [
                            {
                                "name": "Care",
                                "entries": [
                                    {
                                        "question": "Can the duvet go in the dryer?",
                                        "answer": "Yes, on low heat.",
                                    }
                                ],
                            }
                        ]
                    }
                ),
            ),
        ]
    )
    assert not report.skipped
    hit = kb.search("is a cracked phone screen covered if I buy the extra plan", k=1).passages[0]
    assert hit.title == "What does the Protection Plan cover?"
    hit = kb.search("can I tumble dry my duvet", k=1).passages[0]
    assert (hit.title, hit.text) == ("Can the duvet go in the dryer?", "Yes, on low heat.")
