"""Scoring a retrieval run: the metrics of `run.py`'s docstring, thresholds, calibration, the fit.

`score` fills one table row; `tune_threshold` picks a row's abstention threshold on dev questions;
`fit` and `cross_validate` choose the answerability weights and floor on labelled questions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evals.retrieval.sets import Question

TARGET_ANSWER_RATE = 0.95


@dataclass(frozen=True)
class Scores:
    system: str
    questions: int
    recall_at_1: float
    recall_at_3: float
    mrr: float
    answer_rate: float  # answerable questions answered
    abstain_precision: float
    abstain_recall: float
    threshold: float


def first_hit(sections: Sequence[set[str]], relevant: Sequence[str]) -> int | None:
    wanted = set(relevant)
    for rank, found in enumerate(sections, start=1):
        if found & wanted:
            return rank
    return None


def score(
    name: str, questions: Sequence[Question], runs: dict[str, Any], threshold: float
) -> Scores:
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    ranks = [first_hit(runs[q.id].sections, q.relevant) for q in answerable]
    abstained = {q.id for q in questions if runs[q.id].score < threshold}
    abstained_unanswerable = sum(1 for q in unanswerable if q.id in abstained)
    return Scores(
        system=name,
        questions=len(questions),
        recall_at_1=_mean([r == 1 for r in ranks]),
        recall_at_3=_mean([r is not None and r <= 3 for r in ranks]),
        mrr=_mean([1.0 / r if r else 0.0 for r in ranks]),
        answer_rate=_mean([q.id not in abstained for q in answerable]),
        abstain_precision=abstained_unanswerable / len(abstained) if abstained else 1.0,
        abstain_recall=abstained_unanswerable / len(unanswerable) if unanswerable else 1.0,
        threshold=threshold,
    )


def tune_threshold(
    questions: Sequence[Question], values: dict[str, float], answer_rate: float = TARGET_ANSWER_RATE
) -> float:
    """The highest threshold that still answers `answer_rate` of the answerable questions."""
    scores = sorted(values[q.id] for q in questions if q.answerable)
    allowed = int(math.floor(len(scores) * (1 - answer_rate)))
    return scores[allowed] - 1e-6 if scores else 0.0


def answerability(
    signals: dict[str, float], coverage_weight: float, heading_weight: float
) -> float:
    """The retriever's z from one question's raw signals, with the weights being tried."""
    from knowledge.retriever import answerability_score

    return answerability_score(
        signals["dense_top"],
        signals["heading_top"],
        signals["coverage"],
        coverage_weight=coverage_weight,
        heading_weight=heading_weight,
    )


def fit_floor(
    questions: Sequence[Question], signals: dict[str, dict[str, float]]
) -> tuple[float, float, float]:
    """(coverage weight, heading weight, floor) abstaining most while answering 96 %."""
    best: tuple[float, float, float, float] | None = None
    unanswerable = [q for q in questions if not q.answerable]
    for weight in [round(0.05 * i, 2) for i in range(0, 13)]:
        for heading in [round(0.1 * i, 1) for i in range(0, 7)]:
            z = {q.id: answerability(signals[q.id], weight, heading) for q in questions}
            floor = tune_threshold(questions, z, answer_rate=0.96)  # a margin over the 95 %
            recall = _mean([z[q.id] < floor for q in unanswerable])
            if best is None or recall > best[0] + 1e-9:
                best = (recall, weight, heading, floor)
    assert best is not None
    return best[1], best[2], best[3]


def fit(
    questions: Sequence[Question], signals: dict[str, dict[str, float]], top1: dict[str, bool]
) -> dict[str, float]:
    """Pick the weights and floor on `questions`, then the confidence slope by MLE."""
    weight, heading, floor = fit_floor(questions, signals)
    z = {q.id: answerability(signals[q.id], weight, heading) for q in questions}
    labels = {q.id: q.answerable and top1[q.id] for q in questions}
    slope = max((s / 2 for s in range(2, 81)), key=lambda s: _log_likelihood(s, floor, z, labels))
    return {
        "coverage_weight": weight,
        "heading_weight": heading,
        "floor": round(floor, 3),
        "slope": slope,
    }


def cross_validate(
    questions: Sequence[Question], signals: dict[str, dict[str, float]]
) -> tuple[float, float]:
    """2-fold: fit on one half, score the other, both ways; pooled (answer rate, abstain recall).

    With ~24 unanswerable questions per half one question moves a half's figure by 4 points;
    pooling both out-of-fold halves scores every question once with settings it was not fitted on.
    """
    answered: list[bool] = []
    abstained: list[bool] = []
    for fit_split, score_split in (("dev", "test"), ("test", "dev")):
        weight, heading, floor = fit_floor([q for q in questions if q.split == fit_split], signals)
        for q in questions:
            if q.split != score_split:
                continue
            below = answerability(signals[q.id], weight, heading) < floor
            (answered if q.answerable else abstained).append(not below if q.answerable else below)
    return _mean(answered), _mean(abstained)


def expected_calibration_error(
    confidence: dict[str, float], correct: dict[str, bool], bins: int = 10
) -> float:
    total = len(confidence)
    error = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        ids = [i for i, c in confidence.items() if low <= c < high or (b == bins - 1 and c == 1)]
        if ids:
            gap = abs(_mean([confidence[i] for i in ids]) - _mean([correct[i] for i in ids]))
            error += gap * len(ids) / total
    return error


def _mean(values: Sequence[float | bool]) -> float:
    return sum(float(v) for v in values) / len(values) if values else 0.0


def _log_likelihood(
    slope: float, floor: float, z: dict[str, float], labels: dict[str, bool]
) -> float:
    total = 0.0
    for qid, value in z.items():
        p = 1.0 / (1.0 + math.exp(-slope * (value - floor)))
        p = min(max(p, 1e-9), 1 - 1e-9)
        total += math.log(p) if labels[qid] else math.log(1 - p)
    return total
