"""The trained half of triage: scikit-learn logistic regressions over sentence embeddings, one
for the category and one for the sentiment.

A few hundred examples of 384 dimensions train in well under a second; lbfgs from zeros is
deterministic, so the same examples always give the same model. C for each, and how sure the
engine's intent reading must be to set the category, were chosen per embedding model by 5-fold
cross-validation inside the train split (`evals/triage/run.py --cv 5`, see docs/triage.md): the
vectors of two models are not on one scale, nor are the intent probabilities read from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from knowledge.embedder import MINILM_SPACE, SUPPORT_SPACE


@dataclass(frozen=True)
class Fit:
    """What was chosen for one embedding model's vectors."""

    category_c: float
    sentiment_c: float
    # an intent reading at least this sure sets the category
    intent_confidence: float


FITS = {
    MINILM_SPACE: Fit(category_c=30.0, sentiment_c=3.0, intent_confidence=0.5),
    SUPPORT_SPACE: Fit(category_c=30.0, sentiment_c=3.0, intent_confidence=0.4),
}


def fit_for(space: str | None) -> Fit:
    """The fit for an embedder's vector space; an unknown space (a test double) gets MiniLM's."""
    return FITS.get(space or "", FITS[MINILM_SPACE])


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
    vectors: np.ndarray,
    categories: Sequence[str],
    sentiments: Sequence[str],
    fit: Fit = FITS[MINILM_SPACE],
) -> Models:
    return Models(
        category=Classifier(c=fit.category_c).fit(vectors, categories),
        sentiment=Classifier(c=fit.sentiment_c).fit(vectors, sentiments),
    )
