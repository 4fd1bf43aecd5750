"""Triage and the engine read a message the same way: the intent -> category table, agreement on
real messages, and one embedding per message."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.local.intent_model import OUT_OF_SCOPE, packaged_intents
from agent.local.intents import IntentClassifier
from helpdesk.triage import CATEGORIES, Triager
from helpdesk.triage_intents import intent_categories
from services import build_triager

DOCS = Path(__file__).resolve().parents[2] / "docs" / "intents.md"


def test_every_intent_has_a_real_category_and_the_docs_show_the_table() -> None:
    table = intent_categories()
    assert set(table) == {*packaged_intents(), OUT_OF_SCOPE}
    assert set(table.values()) <= set(CATEGORIES)
    shown = dict(re.findall(r"^\| `(\w+)` \| `(\w+)` \|$", DOCS.read_text("utf-8"), re.MULTILINE))
    assert shown == table


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.dimension = inner.dimension
        self.model_id = getattr(inner, "model_id", "inner")
        self.space = getattr(inner, "space", None)
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def engine_and_triage(embedder: Any) -> tuple[IntentClassifier, Triager, CountingEmbedder]:
    counting = CountingEmbedder(embedder)
    intents = IntentClassifier(counting)
    triager = build_triager(counting, None, intents=intents)
    triager.warm()
    return intents, triager, counting


@pytest.mark.parametrize(
    "text",
    [
        "wher is my ordr #1001",
        "I'm cancelling my order 5521",
        "the box arrived crushed and the mug is broken",
        "how long do refunds take?",
        "I sent my return two weeks ago and still no refund",
        "can you ship to Canada and what are the duties",
        "my promo code SAVE10 says invalid",
        "please delete all my personal data",
        "what's the weather in Rome tomorrow",
        "thanks, that helped!",
    ],
)
def test_a_confident_intent_sets_the_category(
    engine_and_triage: tuple[IntentClassifier, Triager, CountingEmbedder], text: str
) -> None:
    intents, triager, _ = engine_and_triage
    intent = intents.classify(text)
    verdict = triager.triage(text)
    assert intent.rule or intent.score >= triager.fit.intent_confidence, intent
    assert verdict.category == intent_categories()[intent.name], (intent, verdict)


def test_triage_embeds_a_message_once_through_the_intent_reader(
    engine_and_triage: tuple[IntentClassifier, Triager, CountingEmbedder],
) -> None:
    _, triager, counting = engine_and_triage
    counting.texts.clear()
    verdict = triager.triage("Where is my order #1042? I ordered it on Monday")
    assert verdict.category == "order_status"
    assert counting.texts == ["Where is my order? I ordered it on Monday"]
