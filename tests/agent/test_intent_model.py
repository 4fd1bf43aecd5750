"""IntentModel.predict_proba computes the regression's softmax from its coefficients; it must give
scikit-learn's own probabilities for every kind of message, and fall back to scikit-learn where
the shortcut does not apply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from agent.local.intent_model import fit
from agent.local.intents import IntentClassifier

HELDOUT = Path(__file__).resolve().parents[2] / "evals" / "intents" / "heldout.jsonl"


def test_the_shortcut_gives_scikit_learns_probabilities(intents: IntentClassifier) -> None:
    rows = [json.loads(line) for line in HELDOUT.read_text().splitlines() if line.strip()]
    texts = [intents.clean(r["text"]) for r in rows[:300]]
    # no known word, one repeated word, nothing at all, a word pair the examples use
    texts += ["zzqx vvbn", "refund refund refund refund", "", "where is my order"]
    vectors = intents.vectors(texts)
    features = [intents.features(t) for t in texts]
    model = intents._model
    ours = model.predict_proba(vectors, features)
    reference = model.sklearn_proba(vectors, features)
    assert ours.shape == reference.shape == (len(texts), len(model.classes_))
    assert np.abs(ours - reference).max() < 1e-9
    assert np.allclose(ours.sum(axis=1), 1.0)
    # and the reading it gives is the same
    labels = [str(c) for c in model.classes_]
    assert [labels[i] for i in ours.argmax(axis=1)] == [labels[i] for i in reference.argmax(axis=1)]


def test_two_classes_use_scikit_learn(embedder: Any) -> None:
    texts = ["where is my parcel", "has my order shipped", "tell me a joke", "what is the weather"]
    labels = ["order_status", "order_status", "out_of_scope", "out_of_scope"]
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    model = fit(vectors, texts, labels, c=10.0)
    probabilities = model.predict_proba(vectors, texts)
    assert probabilities.shape == (4, 2)
    assert np.abs(probabilities - model.sklearn_proba(vectors, texts)).max() < 1e-12
    assert list(probabilities.argmax(axis=1)) == [0, 0, 1, 1]  # classes sorted: order_status 1st
