"""A small multinomial logistic regression in numpy, for classifying sentence embeddings.

A few hundred examples of 384 dimensions train in a fraction of a second. Training is full-batch
gradient descent from zeros, so the same examples always give the same model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class SoftmaxClassifier:
    """Multinomial logistic regression with an L2 penalty (`c` as in scikit-learn's C)."""

    def __init__(self, *, c: float = 10.0, iterations: int = 250, learning_rate: float = 2.0):
        self.c = c
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.labels: list[str] = []
        self._weights = np.zeros((0, 0), dtype=np.float32)
        self._bias = np.zeros(0, dtype=np.float32)

    def fit(self, features: np.ndarray, labels: Sequence[str]) -> SoftmaxClassifier:
        self.labels = sorted(set(labels))
        index = {label: i for i, label in enumerate(self.labels)}
        x = np.asarray(features, dtype=np.float32)
        n, d = x.shape
        k = len(self.labels)
        target = np.zeros((n, k), dtype=np.float32)
        target[np.arange(n), [index[label] for label in labels]] = 1.0
        weights = np.zeros((d, k), dtype=np.float32)
        bias = np.zeros(k, dtype=np.float32)
        velocity_w, velocity_b = np.zeros_like(weights), np.zeros_like(bias)
        penalty = 1.0 / (self.c * n)  # scikit-learn's C * sum(loss) + |w|^2 / 2, divided by C * n
        for _ in range(self.iterations):
            # Nesterov momentum: the gradient at the look-ahead point.
            ahead_w = weights + 0.9 * velocity_w
            ahead_b = bias + 0.9 * velocity_b
            error = _softmax(x @ ahead_w + ahead_b) - target
            grad_w = x.T @ error / n + penalty * ahead_w
            grad_b = error.mean(axis=0)
            velocity_w = 0.9 * velocity_w - self.learning_rate * grad_w
            velocity_b = 0.9 * velocity_b - self.learning_rate * grad_b
            weights += velocity_w
            bias += velocity_b
        self._weights, self._bias = weights, bias
        return self

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """One row per input, one column per label (in `self.labels` order), rows sum to 1."""
        return _softmax(np.asarray(features, dtype=np.float32) @ self._weights + self._bias)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
