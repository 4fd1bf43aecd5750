"""Triage of one customer message: category, urgency, sentiment, language and a confidence.

Offline and deterministic. The category comes from the engine's intent reading when that is
confident (`intents`, through the table in `triage_intents.yaml`, so a ticket and the engine
never disagree), else from a scikit-learn logistic regression over the sentence embedding; a
second one gives the sentiment (`triage_model`). Both train at first use on the packaged,
project-written examples (`triage_examples.yaml`, the train split of
`evals/triage/labelled.jsonl`). Rules in `triage_rules` decide the cases that must not depend on
a classifier (a request for a person, safety, legal and chargeback threats, fraud); urgency comes
from those rules, the category, the sentiment and the conversation's context. Non-English
messages get an English keyword gloss before embedding (`triage_language`). With an intent
reader the message is embedded once, by the reader, and triage reuses that vector.
See docs/triage.md for definitions and measured accuracy.

    triager = Triager(embedder, intents=IntentClassifier(embedder))
    triager.triage("Where is my order #1042?").category  # "order_status"
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Literal, cast, get_args

import numpy as np
import yaml

from helpdesk import triage_rules as rules
from helpdesk.triage_intents import IntentReader, IntentReading, intent_categories
from helpdesk.triage_language import detect_language, polarity, with_gloss
from helpdesk.triage_model import Fit, Models, fit_for, train
from knowledge.types import Embedder

Category = Literal[
    "order_status", "delivery_problem", "return_refund", "exchange", "cancellation",
    "order_change", "payment_billing", "product_question", "shipping_policy", "account",
    "privacy", "marketing", "complaint", "feedback", "human_request", "other",
]  # fmt: skip
Urgency = Literal["low", "normal", "high", "urgent"]
Sentiment = Literal["negative", "neutral", "positive"]

CATEGORIES: tuple[Category, ...] = get_args(Category)
URGENCIES: tuple[Urgency, ...] = get_args(Urgency)
SENTIMENTS: tuple[Sentiment, ...] = get_args(Sentiment)

# Questions and notes that need no action on an order: low urgency unless the customer is upset.
_LOW_CATEGORIES = frozenset(
    {"product_question", "shipping_policy", "marketing", "feedback", "other"}
)
_REMEDY_CATEGORIES = frozenset({"return_refund", "exchange", "human_request"})
RULE_CONFIDENCE = 0.95
DEFAULT_HIGH_VALUE = Decimal("500")


@dataclass(frozen=True)
class TriageContext:
    """What the conversation knows beyond the message; every field is optional."""

    order_value: Decimal | None = None
    vip: bool = False
    prior_contacts_7d: int = 0
    misunderstandings: int = 0


@dataclass(frozen=True)
class Triage:
    """The verdict on one message. `signals` names the rules and context that set the urgency."""

    category: Category
    urgency: Urgency
    sentiment: Sentiment
    language: str
    confidence: float
    signals: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, str | float]:
        """The public JSON shape: category, urgency, sentiment, language, confidence."""
        return {
            "category": self.category,
            "urgency": self.urgency,
            "sentiment": self.sentiment,
            "language": self.language,
            "confidence": round(self.confidence, 3),
        }


@dataclass(frozen=True)
class Example:
    """One labelled training message."""

    text: str
    category: Category
    sentiment: Sentiment


def packaged_examples_text() -> str:
    return resources.files("helpdesk").joinpath("triage_examples.yaml").read_text("utf-8")


def load_examples(text: str | None = None) -> list[Example]:
    """The training examples: the packaged file, or the YAML `text` given."""
    raw = yaml.safe_load(packaged_examples_text() if text is None else text)
    examples = [Example(str(e["text"]), e["category"], e["sentiment"]) for e in raw["examples"]]
    for e in examples:
        if e.category not in CATEGORIES or e.sentiment not in SENTIMENTS:
            raise ValueError(f"bad label in triage examples: {e}")
    return examples


class Triager:
    """Classifies customer messages. Build one per process: it trains on first use (~2 s).

    Args:
        embedder: any `knowledge.types.Embedder` (normally `knowledge.embedder.MiniLMEmbedder`).
        intents: the engine's intent reader (`agent.local.intents.IntentClassifier`); without
            one the category is the triage classifier's alone.
        examples: training examples; default the packaged `triage_examples.yaml`.
        cache_dir: if given, the example embeddings are saved there as a .npy named by a hash of
            the examples and the embedder class, and reused by later processes.
        default_language: reported when a message carries no evidence of any language.
        high_value: an order worth at least this much raises urgency.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        intents: IntentReader | None = None,
        examples: Sequence[Example] | None = None,
        cache_dir: Path | None = None,
        default_language: str = "en",
        high_value: Decimal = DEFAULT_HIGH_VALUE,
    ) -> None:
        self._embedder = embedder
        self._intents = intents
        self._examples = list(examples) if examples is not None else None
        self._cache_dir = cache_dir
        self.default_language = default_language
        self.high_value = high_value
        self._models: Models | None = None
        self._lock = threading.Lock()
        # C and the intent threshold chosen for this embedder's vectors (triage_model.FITS)
        self.fit: Fit = fit_for(getattr(embedder, "space", None))

    @property
    def intents(self) -> IntentReader | None:
        """The intent reader triage shares with the offline engine (None: rules only)."""
        return self._intents

    def warm(self) -> None:
        """Train now rather than on the first message."""
        self._trained()

    def triage(self, text: str, context: TriageContext | None = None) -> Triage:
        """Triage one message, with the conversation's `context` if known."""
        return self.triage_many([text], [context])[0]

    def triage_many(
        self, texts: Sequence[str], contexts: Sequence[TriageContext | None] | None = None
    ) -> list[Triage]:
        """Triage several messages with one embedding batch."""
        if contexts is not None and len(contexts) != len(texts):
            raise ValueError("contexts must match texts one for one")
        if not texts:
            return []
        models = self._trained()
        languages = [detect_language(t, default=self.default_language) for t in texts]
        readings: list[IntentReading | None] = [None] * len(texts)
        if self._intents is not None:
            readings = list(self._intents.read(texts, languages))
            vectors = np.stack([r.vector for r in readings if r is not None])
        else:
            vectors = self._embedder.embed(
                [with_gloss(t, lang) for t, lang in zip(texts, languages, strict=True)]
            )
        category_p = models.category.predict_proba(vectors)
        sentiment_p = models.sentiment.predict_proba(vectors)
        return [
            self._verdict(
                text,
                language,
                dict(zip(models.category.labels, map(float, category_p[i]), strict=True)),
                dict(zip(models.sentiment.labels, map(float, sentiment_p[i]), strict=True)),
                (contexts[i] if contexts is not None else None) or TriageContext(),
                readings[i],
            )
            for i, (text, language) in enumerate(zip(texts, languages, strict=True))
        ]

    def _verdict(
        self,
        text: str,
        language: str,
        category_p: dict[str, float],
        sentiment_p: dict[str, float],
        context: TriageContext,
        reading: IntentReading | None = None,
    ) -> Triage:
        # the intents are read by a classifier trained on English; a glossed message in another
        # language reads as off-topic too easily, so triage's own classifier decides those
        english = reading if language == "en" else None
        category, confidence, rule = _category(
            text, language, category_p, english, threshold=self.fit.intent_confidence
        )
        sentiment = _sentiment(text, sentiment_p)
        flags = content_flags(text, language, sentiment)
        if _NEGATIVE_FLAGS.intersection(flags):
            sentiment = "negative"
        raised = context_flags(context, high_value=self.high_value)
        return Triage(
            category=category,
            urgency=urgency_of(category, sentiment, flags, raised),
            sentiment=sentiment,
            language=language,
            confidence=confidence,
            signals=(*rule, *flags, *raised),
        )

    # --- training ------------------------------------------------------------------------------

    def _trained(self) -> Models:
        if self._models is None:
            with self._lock:
                if self._models is None:
                    self._models = self._train()
        return self._models

    def _train(self) -> Models:
        examples = self._examples if self._examples is not None else load_examples()
        languages = [detect_language(e.text, default=self.default_language) for e in examples]
        if self._intents is not None:
            # the same features the reader gives a message: typos fixed, entities out, gloss
            vectors = self._intents.featurize(
                [e.text for e in examples], languages, cache_dir=self._cache_dir
            )
        else:
            texts = [with_gloss(e.text, lang) for e, lang in zip(examples, languages, strict=True)]
            vectors = self._example_vectors(texts)
        return train(
            vectors, [e.category for e in examples], [e.sentiment for e in examples], self.fit
        )

    def _example_vectors(self, texts: list[str]) -> np.ndarray:
        if self._cache_dir is None:
            return self._embedder.embed(texts)
        kind = type(self._embedder)
        model = getattr(self._embedder, "model_id", f"{kind.__module__}.{kind.__qualname__}")
        digest = hashlib.sha256(
            "\n".join([str(model), *texts]).encode("utf-8")
        ).hexdigest()[:20]
        path = self._cache_dir / f"triage-examples-{digest}.npy"
        if path.exists():
            cached = np.load(path)
            if cached.shape[0] == len(texts):
                return cached
        vectors = np.asarray(self._embedder.embed(texts), dtype=np.float32)
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        tmp.replace(path)
        return vectors


# --- the decisions, as plain functions ------------------------------------------------------------

_NEGATIVE_FLAGS = frozenset({"safety", "legal", "chargeback", "fraud"})


def _category(
    text: str,
    language: str,
    category_p: dict[str, float],
    reading: IntentReading | None = None,
    *,
    threshold: float,
) -> tuple[Category, float, tuple[str, ...]]:
    """The intent's category when its reading is at least `threshold` sure, else the
    classifier's, unless a rule knows better; the rule's name if one fired."""
    best = cast(Category, max(category_p, key=category_p.__getitem__))
    confidence = category_p[best]
    if reading is not None and reading.confidence >= threshold:
        mapped = intent_categories().get(reading.intent)
        if mapped in CATEGORIES:
            best = cast(Category, mapped)
            confidence = max(reading.confidence, category_p.get(best, 0.0))
    if rules.asks_for_human(text, language):
        return "human_request", max(RULE_CONFIDENCE, confidence), ("human_request",)
    if rules.only_greeting(text) or rules.gibberish(text):
        return "other", max(RULE_CONFIDENCE, category_p["other"]), ()
    if best not in _REMEDY_CATEGORIES and rules.safety_issue(text, language):
        # A product that hurt someone is a complaint whatever else the text resembles, unless
        # the customer already asks for the remedy (a refund, a replacement).
        return "complaint", max(RULE_CONFIDENCE, category_p["complaint"]), ()
    return best, confidence, ()


def _sentiment(text: str, sentiment_p: dict[str, float]) -> Sentiment:
    """The classifier's sentiment, overruled when the sentiment words all point one way."""
    positive, negative = polarity(text)
    if positive and not negative:
        return "positive"
    if negative and not positive:
        return "negative"
    return cast(Sentiment, max(sentiment_p, key=sentiment_p.__getitem__))


def content_flags(text: str, language: str, sentiment: Sentiment) -> list[str]:
    """The urgency rules that fire on the message itself, by name."""
    checks = {
        "safety": rules.safety_issue(text, language),
        "legal": rules.legal_threat(text, language),
        "chargeback": rules.chargeback_threat(text),
        "fraud": rules.fraud_or_security(text),
        "repeat_contact": rules.repeated_contact(text),
        "deadline": rules.deadline(text),
    }
    # Shouting and "!!" are anger only in an unhappy message ("THANK YOU!!" is not).
    negative = sentiment == "negative" or any(checks[name] for name in _NEGATIVE_FLAGS)
    checks["anger"] = negative and rules.anger(text)
    return [name for name, fired in checks.items() if fired]


def context_flags(context: TriageContext, *, high_value: Decimal = DEFAULT_HIGH_VALUE) -> list[str]:
    """The context signals that raise urgency: VIP, repeated contact, misunderstandings, value."""
    found = []
    if context.vip:
        found.append("vip")
    if context.prior_contacts_7d >= 2:
        found.append("prior_contacts")
    if context.misunderstandings >= 2:
        found.append("misunderstandings")
    if context.order_value is not None and context.order_value >= high_value:
        found.append("high_value")
    return found


def urgency_of(
    category: Category, sentiment: Sentiment, flags: Sequence[str], raised: Sequence[str]
) -> Urgency:
    """Urgency from the message, then one level up for context (two for three signals or more).

    safety -> urgent; legal, chargeback, fraud, anger, repeated contact, deadline -> high;
    questions and notes (product, shipping policy, marketing, feedback, other) that are not
    negative -> low; everything else -> normal.
    """
    if "safety" in flags:
        level = 3
    elif flags:
        level = 2
    elif category in _LOW_CATEGORIES and sentiment != "negative":
        level = 0
    else:
        level = 1
    if raised:
        level += 2 if len(raised) >= 3 else 1
    return URGENCIES[min(level, 3)]
