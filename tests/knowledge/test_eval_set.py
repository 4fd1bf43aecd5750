"""The labelled retrieval eval set stays well formed (no model needed)."""

from __future__ import annotations

from evals.retrieval.scoring import tune_threshold
from evals.retrieval.sets import load_questions
from evals.retrieval.systems import section_texts


def test_eval_set_size_labels_and_splits() -> None:
    questions = load_questions()
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    assert len(answerable) >= 200 and len(unanswerable) >= 40
    sections = section_texts()
    for q in answerable:
        assert q.relevant, q.question
        assert set(q.relevant) <= set(sections), (q.question, q.relevant)
    assert all(not q.relevant for q in unanswerable)
    assert len({q.id for q in questions}) == len({q.question for q in questions}) == len(questions)
    assert {q.split for q in questions} == {"dev", "test"}


def test_threshold_tuning_keeps_the_answer_rate() -> None:
    questions = load_questions()
    values = {q.id: (0.5 if q.answerable else 0.2) for q in questions}
    values[next(q.id for q in questions if q.answerable)] = 0.1
    threshold = tune_threshold(questions, values)
    answered = [values[q.id] >= threshold for q in questions if q.answerable]
    assert sum(answered) / len(answered) >= 0.95
