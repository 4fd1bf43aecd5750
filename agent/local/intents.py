"""Intent reading for the offline engine and for triage: what the customer wants, in the taxonomy
of docs/intents.md.

In order: typos fixed against the store's vocabulary (`normalize.TypoFixer`); rules for dialogue
acts, a request for a person and plain order-action requests (`rules`); then a scikit-learn
logistic regression over the sentence embedding and the words (`intent_model`). The classifier
has an out_of_scope class trained on general-assistant requests, and a floor on its top probability
catches the off-topic requests unlike any of them; when the two best task intents are close the
reading is marked `ambiguous`, so the engine asks which one was meant. The floor and the margin
are fitted by cross-validation (evals/intents/crossval.py) and stored in intent_calibration.yaml,
one fit per embedding model.

    intents = IntentClassifier(make_embedder())
    intents.classify("wher is my ordr").name  # "order_status"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from agent.local import rules
from agent.local.intent_model import (
    OUT_OF_SCOPE,
    Calibration,
    cached_vectors,
    packaged_calibration,
    packaged_examples,
    packaged_intents,
    shared_model,
)
from agent.local.normalize import TypoFixer
from helpdesk.triage_intents import IntentReading
from helpdesk.triage_language import with_gloss

FLOW_INTENTS = frozenset(
    {
        "order_status",
        "delivery_problem",
        "return_request",
        "refund_status",
        "exchange",
        "cancel_order",
        "order_change",
    }
)
SMALL_TALK = frozenset({"greeting", "thanks", "goodbye"})
DIALOGUE_ACTS = frozenset({"affirm", "deny"})
# intents a clarifying question can offer as one of two choices
_NOT_CLARIFIED = SMALL_TALK | {"human", OUT_OF_SCOPE}

_ENTITIES = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|#\s*\d+|\b\d{3,}\b")
_WORD = re.compile(r"[A-Za-z]+")
_SPACE_BEFORE = re.compile(r"\s+([?!.,;:])")  # "my order #1042?" -> "my order?"
# "hi! what's the status of #1948?" embeds near the greetings; the request is what follows
_LEADING_GREETING = re.compile(
    r"^\s*(hi+|hello+|hey+|hiya|good (morning|afternoon|evening)|greetings)"
    r"( there| again| team| all)?\s*[,!.]+\s*(?=\S+\s+\S)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Intent:
    """One reading of one request. `score` is the classifier's probability (1.0 for a rule)."""

    name: str
    score: float
    rule: bool = False
    runner_up: str | None = None
    runner_up_score: float = 0.0
    ambiguous: bool = False  # the two best task intents are too close to choose
    text: str = ""  # the request as read, typos fixed


class IntentClassifier:
    """Reads intents. Build one per process; the model trains on first use.

    Args:
        embedder: any object with `embed(texts) -> np.ndarray` (rows L2-normalised).
        examples: {intent: [texts]}, out_of_scope included; default the packaged examples.
        cache_dir: where the examples' embeddings are kept between processes.
        calibration: C, out-of-scope floor and clarifying margin; default the packaged fit.
    """

    def __init__(
        self,
        embedder: Any,
        examples: dict[str, list[str]] | None = None,
        *,
        cache_dir: Path | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self._embedder = embedder
        self._examples = examples or packaged_examples()
        self._cache_dir = cache_dir
        self.calibration = calibration or packaged_calibration(getattr(embedder, "space", None))

    # --- the parts, built once ---------------------------------------------------------------

    @cached_property
    def fixer(self) -> TypoFixer:
        words = [w for texts in self._examples.values() for t in texts for w in _WORD.findall(t)]
        return TypoFixer(words)

    @cached_property
    def _training(self) -> tuple[list[str], list[str]]:
        texts, labels = [], []
        for name, examples in self._examples.items():
            for text in examples:
                texts.append(self.features(self.fixer.fix(text)))
                labels.append(name)
        return texts, labels

    @cached_property
    def _model(self) -> Any:
        texts, labels = self._training
        return shared_model(
            self._embedder,
            texts,
            labels,
            c=self.calibration.c,
            cache_dir=self._cache_dir,
            keyword_weight=self.calibration.keyword_weight,
        )

    @cached_property
    def descriptions(self) -> dict[str, str]:
        """intent -> what the customer may want ("know where your refund is")."""
        return {name: str(v.get("does", name)) for name, v in packaged_intents().items()}

    @property
    def embedder(self) -> Any:
        """The sentence embedder it reads with; help-center answers score sentences with it."""
        return self._embedder

    def warm(self) -> None:
        """Train now rather than on the first message."""
        _ = self._model

    # --- reading ---------------------------------------------------------------------------

    @staticmethod
    def features(text: str, language: str = "en") -> str:
        """The text the embedding model sees: no order numbers or emails, one space between
        words, and an English gloss of the shop words of a message in another language."""
        stripped = _SPACE_BEFORE.sub(r"\1", " ".join(_ENTITIES.sub(" ", text).split()))
        stripped = _LEADING_GREETING.sub("", stripped)
        stripped = stripped or " ".join(text.split())
        return stripped if language == "en" else with_gloss(stripped, language)

    def clean(self, text: str, language: str = "en") -> str:
        """The message with typos fixed (English only), whitespace collapsed."""
        return " ".join((self.fixer.fix(text) if language == "en" else text).split())

    def vectors(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray:
        languages = languages or ["en"] * len(texts)
        return np.asarray(
            self._embedder.embed(
                [self.features(t, lang) for t, lang in zip(texts, languages, strict=True)]
            ),
            dtype=np.float32,
        )

    def classify(self, text: str, *, language: str = "en") -> Intent:
        """The intent of one request (`text` as the customer wrote it)."""
        return self.classify_many([text], language=language)[0]

    def classify_many(self, texts: Sequence[str], *, language: str = "en") -> list[Intent]:
        """Rules first; every text the rules leave goes to the model in one embedding batch."""
        cleaned = [self.clean(t, language) for t in texts]
        found: list[Intent | None] = [self._rule(t, language) for t in cleaned]
        todo = [i for i, hit in enumerate(found) if hit is None]
        if todo:
            texts = [cleaned[i] for i in todo]
            vectors = self.vectors(texts, [language] * len(todo))
            predicted = self.predict(vectors, texts, [language] * len(todo))
            for i, intent in zip(todo, predicted, strict=True):
                found[i] = intent
        return [
            _with_text(intent, text) for intent, text in zip(found, cleaned, strict=True) if intent
        ]

    async def prefetch(self, texts: Sequence[str], *, language: str = "en") -> None:
        """Embeds ahead, batched with other turns (the embedder's `prefetch`), the texts that
        `classify_many(texts)` will give the model: those no rule decides."""
        ahead = getattr(self._embedder, "prefetch", None)
        if ahead is None:
            return
        cleaned = [self.clean(t, language) for t in texts]
        wanted = [self.features(t, language) for t in cleaned if self._rule(t, language) is None]
        if wanted:
            await ahead(wanted)

    @staticmethod
    def _rule(text: str, language: str) -> Intent | None:
        if rules.wants_person(text, language):
            return Intent("human", 1.0, rule=True)
        act = rules.dialogue_act(text)
        if act is not None:
            return Intent(act, 1.0, rule=True)
        if language == "en":
            action = rules.order_action(text)
            if action is not None:
                return Intent(action, 1.0, rule=True)
        return None

    def probabilities(
        self, vectors: np.ndarray, texts: Sequence[str], languages: Sequence[str] | None = None
    ) -> tuple[np.ndarray, list[str]]:
        """Per message, the probability of each intent; `vectors` are `self.vectors(texts,
        languages)` (the embedding), `texts` the messages as `clean` left them."""
        model = self._model
        languages = languages or ["en"] * len(texts)
        features = [self.features(t, lang) for t, lang in zip(texts, languages, strict=True)]
        return model.predict_proba(vectors, features), [str(c) for c in model.classes_]

    def topic_distribution(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The intent probabilities of English texts (questions or help-center passages) whose
        embeddings are `vectors`: the knowledge base ranks passages with them too
        (knowledge.types.TopicReader)."""
        if len(texts) == 0:
            return np.zeros((0, 0), dtype=np.float32)
        return self.probabilities(np.asarray(vectors, dtype=np.float32), list(texts))[0]

    def predict(
        self, vectors: np.ndarray, texts: Sequence[str], languages: Sequence[str] | None = None
    ) -> list[Intent]:
        """The model's reading of each message, with the out-of-scope floor and the margin."""
        if len(vectors) == 0:
            return []
        probabilities, labels = self.probabilities(vectors, texts, languages)
        return [decide(row, labels, self.calibration) for row in probabilities]

    # --- for triage (helpdesk.triage_intents.IntentReader) ------------------------------------

    def read(self, texts: Sequence[str], languages: Sequence[str]) -> list[IntentReading]:
        cleaned = [self.clean(t, lang) for t, lang in zip(texts, languages, strict=True)]
        vectors = self.vectors(cleaned, languages)
        predicted = self.predict(vectors, cleaned, languages)
        readings = []
        for i, (text, language) in enumerate(zip(cleaned, languages, strict=True)):
            intent = self._rule(text, language) or predicted[i]
            readings.append(IntentReading(intent.name, intent.score, vectors[i]))
        return readings

    def featurize(
        self, texts: Sequence[str], languages: Sequence[str], *, cache_dir: Path | None = None
    ) -> np.ndarray:
        """Embeddings of many texts as `read` embeds them (cached on disk when asked)."""
        features = [
            self.features(self.clean(t, lang), lang)
            for t, lang in zip(texts, languages, strict=True)
        ]
        return cached_vectors(self._embedder, features, cache_dir, prefix="triage-examples")


def decide(row: np.ndarray, labels: list[str], calibration: Calibration) -> Intent:
    """One message's intent from the model's probabilities."""
    order = np.argsort(row)[::-1]
    best, second = labels[order[0]], labels[order[1]]
    p_best, p_second = float(row[order[0]]), float(row[order[1]])
    if best == OUT_OF_SCOPE or p_best < calibration.oos_floor:
        return Intent(OUT_OF_SCOPE, float(row[labels.index(OUT_OF_SCOPE)]), runner_up=best)
    ambiguous = (
        best not in _NOT_CLARIFIED
        and second not in _NOT_CLARIFIED
        and p_best - p_second < calibration.clarify_margin
    )
    return Intent(best, p_best, False, second, p_second, ambiguous)


def _with_text(intent: Intent, text: str) -> Intent:
    return Intent(
        intent.name,
        intent.score,
        intent.rule,
        intent.runner_up,
        intent.runner_up_score,
        intent.ambiguous,
        text,
    )
