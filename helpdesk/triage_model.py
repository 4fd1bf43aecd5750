"""The trained half of triage: scikit-learn logistic regressions over sentence embeddings, one
for the category and one for the sentiment.

A few hundred examples of 384 dimensions train in well under a second; lbfgs from zeros is
deterministic, so the same examples always give the same model. C for each was chosen by 5-fold
cross-validation inside the train split (`evals/triage/run.py --cv 5`, see docs/triage.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

CATEGORY_C = 3.0
SENTIMENT_C = 10.0


class Classifier:
    """A multinomial logistic regression with its labels in a stable (sorted) order."""

    def __init__(self, *, c: float) -> None:
        self.c = c
        self.labels: list[str] = []
        self._model: LogisticRegression | None = None

    def fit(self, features: np.ndarray, labels: Sequence[str]) -> Classifier:
        self._model = LogisticRegression(C=self.c, max_iter=2000)
        self._model.fit(np.asarray(features, dtype=np.float32), list(labels))
        self.labels = [str(c) for c in self._model.classes_]
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Rows of probabilities, columns in the order of `labels`."""
        if self._model is None:
            raise RuntimeError("fit the classifier first")
        return np.asarray(self._model.predict_proba(np.asarray(features, dtype=np.float32)))


@dataclass(frozen=True)
class Models:
    category: Classifier
    sentiment: Classifier


def train(
    vectors: np.ndarray, categories: Sequence[str], sentiments: Sequence[str]
) -> Models:
    return Models(
        category=Classifier(c=CATEGORY_C).fit(vectors, categories),
        sentiment=Classifier(c=SENTIMENT_C).fit(vectors, sentiments),
    )
