from __future__ import annotations

import pytest

from knowledge.base import KnowledgeBase, confidence_from_score


@pytest.mark.parametrize(
    "question",
    ["what is your return policy?", "how long do I have to send something back"],
)
def test_return_questions_find_the_returns_article(demo_kb: KnowledgeBase, question: str) -> None:
    result = demo_kb.search(question)
    assert result.answerable
    assert result.confidence >= 0.5
    assert result.passages[0].source == "returns.md"
    assert result.passages[0].title == "Returns Policy"


@pytest.mark.parametrize("question", ["what's the capital of Peru", "do you sell cars"])
def test_off_topic_questions_are_not_answerable(demo_kb: KnowledgeBase, question: str) -> None:
    result = demo_kb.search(question)
    assert not result.answerable
    assert result.confidence < 0.5


def test_passages_carry_citations(demo_kb: KnowledgeBase) -> None:
    result = demo_kb.search("how much does shipping cost", k=3)
    assert len(result.passages) == 3
    assert len({p.id for p in result.passages}) == 3
    assert all(p.id and p.title and p.source and p.text for p in result.passages)
    assert all(-1.0 <= p.score <= 1.0 for p in result.passages)
    assert result.passages[0].source == "shipping.md"


def test_empty_query_is_not_answerable(demo_kb: KnowledgeBase) -> None:
    result = demo_kb.search("   ")
    assert (result.passages, result.answerable, result.confidence) == ([], False, 0.0)


def test_confidence_is_monotone_and_half_at_the_floor() -> None:
    floor = 0.4
    assert confidence_from_score(floor, floor) == pytest.approx(0.5)
    scores = [-1.0, 0.0, 0.2, 0.39, 0.4, 0.41, 0.6, 1.0]
    values = [confidence_from_score(s, floor) for s in scores]
    assert values == sorted(values)
    assert all((v >= 0.5) == (s >= floor) for s, v in zip(scores, values, strict=True))


def test_ensure_demo_does_nothing_when_the_collection_has_content(demo_kb: KnowledgeBase) -> None:
    assert demo_kb.count() > 50
    assert demo_kb.ensure_demo() is None
    assert demo_kb.ping()
