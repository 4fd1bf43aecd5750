"""The trained part of intent reading: a scikit-learn logistic regression over the sentence
embedding of a message beside the TF-IDF of its words and word pairs, trained on the
project-written examples, with the examples' embeddings cached on disk.

The words are there because the embedding alone blurs requests that differ in one word ("what's
your return *window*" vs "where is my *refund*"): cross-validated on the examples, in-scope
accuracy went from 88.8% to 91.0% with them (evals/intents/crossval.py fits their weight).

Training takes ~1 s once the examples are embedded; embedding ~1,100 examples takes a few seconds,
so the vectors are saved under `cache_dir` by the embedding model's id and a hash of the texts,
and a fitted model is shared by every classifier of the process built on the same examples."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Calibration:
    """Fitted by cross-validation on the examples (evals/intents/crossval.py --write)."""

    c: float = 10.0  # the logistic regression's inverse regularisation
    oos_floor: float = 0.3  # below this top probability a message is out of scope
    clarify_margin: float = 0.1  # top two task intents closer than this: ask which one
    keyword_weight: float = 1.0  # scale of the TF-IDF word features beside the embedding


def _read_yaml(name: str) -> Any:
    return yaml.safe_load(resources.files("agent.local").joinpath(name).read_text("utf-8"))


def packaged_intents() -> dict[str, dict[str, Any]]:
    """{intent: {"does": ..., "examples": [...]}} from intents.yaml."""
    return {str(k): dict(v) for k, v in _read_yaml("intents.yaml").items()}


def packaged_out_of_scope() -> dict[str, list[str]]:
    """{topic: [examples]} from out_of_scope.yaml."""
    return {str(k): [str(t) for t in v] for k, v in _read_yaml("out_of_scope.yaml").items()}


def packaged_examples() -> dict[str, list[str]]:
    """Every intent's examples, out_of_scope included (all topics together)."""
    examples = {name: [str(t) for t in v["examples"]] for name, v in packaged_intents().items()}
    examples[OUT_OF_SCOPE] = [t for texts in packaged_out_of_scope().values() for t in texts]
    return examples


def packaged_calibration(space: str | None = None) -> Calibration:
    """The fit for the embedder's vector space (intent_calibration.yaml holds one per space: the
    probabilities of two models are not on one scale); an unknown space gets the default
    model's."""
    raw = _read_yaml("intent_calibration.yaml") or {}
    fits = {str(k): v for k, v in raw.items() if isinstance(v, dict)}
    fitted = fits.get(space or "", fits.get(str(raw.get("default")), {}))
    return Calibration(
        **{k: float(v) for k, v in fitted.items() if k in Calibration.__annotations__}
    )


def embedder_id(embedder: Any) -> str:
    kind = type(embedder)
    return str(getattr(embedder, "model_id", f"{kind.__module__}.{kind.__qualname__}"))


def cached_vectors(
    embedder: Any, texts: Sequence[str], cache_dir: Path | None, *, prefix: str
) -> np.ndarray:
    """The embeddings of `texts`, from `cache_dir` when an earlier process saved them."""
    if cache_dir is None:
        return np.asarray(embedder.embed(list(texts)), dtype=np.float32)
    digest = hashlib.sha256("\n".join([embedder_id(embedder), *texts]).encode()).hexdigest()[:20]
    path = cache_dir / f"{prefix}-{digest}.npy"
    if path.exists():
        cached = np.load(path)
        if cached.shape[0] == len(texts):
            return cached
    vectors = np.asarray(embedder.embed(list(texts)), dtype=np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors


class IntentModel:
    """The logistic regression over [embedding, keyword_weight × TF-IDF of words and pairs]."""

    def __init__(self, *, c: float, keyword_weight: float) -> None:
        self.keyword_weight = keyword_weight
        self.words: TfidfVectorizer | None = None
        self.regression = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        self._dense_coef: np.ndarray | None = None  # set from the fitted regression
        self._word_coef: np.ndarray | None = None
        self._analyse: Any = None

    @property
    def classes_(self) -> np.ndarray:
        return self.regression.classes_

    def fit(self, vectors: np.ndarray, texts: Sequence[str], labels: Sequence[str]) -> IntentModel:
        if self.keyword_weight:
            self.words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
            self.words.fit(list(texts))
        self.regression.fit(self._features(vectors, texts), list(labels))
        self._dense_coef = None
        return self

    def predict_proba(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Rows of probabilities, columns in the order of `classes_`; `texts` are what was
        embedded (the classifier's `features`).

        The regression's own softmax over the same features, computed from its coefficients:
        scikit-learn's input checks, sparse stacking and TfidfVectorizer.transform cost ~2 ms
        per message, as much as the rest of a turn's understanding; this costs ~0.1 ms and
        gives the same probabilities (tests/agent/test_intent_model.py)."""
        if self._dense_coef is None:
            self._split_coefficients()
        if self._dense_coef is None:  # two classes (one row of coefficients): not a softmax
            return self.sklearn_proba(vectors, texts)
        dense = np.asarray(vectors, dtype=np.float64)
        z = dense @ self._dense_coef.T + self.regression.intercept_  # type: ignore[union-attr]
        if self.words is not None:
            vocabulary, idf = self.words.vocabulary_, self.words.idf_
            for row, text in enumerate(texts):
                counts = Counter(vocabulary[t] for t in self._analyse(text) if t in vocabulary)
                if not counts:
                    continue
                columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
                weights = (1.0 + np.log(tf)) * idf[columns]  # sublinear tf × idf, then l2
                weights *= self.keyword_weight / np.linalg.norm(weights)
                z[row] += weights @ self._word_coef[:, columns].T  # type: ignore[index]
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def _split_coefficients(self) -> None:
        coef = np.asarray(self.regression.coef_, dtype=np.float64)
        if coef.shape[0] != len(self.regression.classes_):
            return
        width = coef.shape[1] - (len(self.words.vocabulary_) if self.words is not None else 0)
        self._word_coef = np.ascontiguousarray(coef[:, width:])
        self._dense_coef = np.ascontiguousarray(coef[:, :width])
        if self.words is not None:
            self._analyse = self.words.build_analyzer()

    def sklearn_proba(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """scikit-learn's own predict_proba over the stacked features (the reference)."""
        return np.asarray(self.regression.predict_proba(self._features(vectors, texts)))

    def _features(self, vectors: np.ndarray, texts: Sequence[str]) -> Any:
        if self.words is None:
            return vectors
        words = self.words.transform(list(texts)) * self.keyword_weight
        return hstack([csr_matrix(np.asarray(vectors, dtype=np.float64)), words]).tocsr()


def fit(
    vectors: np.ndarray,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    c: float,
    keyword_weight: float = 1.0,
) -> IntentModel:
    """A multinomial logistic regression; classes weighted so no intent dominates by count."""
    return IntentModel(c=c, keyword_weight=keyword_weight).fit(vectors, texts, labels)


_FITTED: dict[tuple[str, str, float, float], IntentModel] = {}
_LOCK = threading.Lock()


def shared_model(
    embedder: Any,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    c: float,
    cache_dir: Path | None,
    keyword_weight: float = 1.0,
) -> IntentModel:
    """One fitted model per process for the same embedder, examples, C and keyword weight."""
    digest = hashlib.sha256(
        "\n".join(f"{t}\t{y}" for t, y in zip(texts, labels, strict=True)).encode()
    ).hexdigest()
    key = (f"{embedder_id(embedder)}#{id(embedder)}", digest, c, keyword_weight)
    with _LOCK:
        if key not in _FITTED:
            vectors = cached_vectors(embedder, texts, cache_dir, prefix="intent-examples")
            _FITTED[key] = fit(vectors, texts, labels, c=c, keyword_weight=keyword_weight)
        return _FITTED[key]
