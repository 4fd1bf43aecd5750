"""Triage with the real MiniLM embedder: classifications, rules, context, the CLI, the held-out
floor, and the guarantee that held-out messages never reach the training examples."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from evals.triage.run import load_rows, predict, score
from helpdesk.cli import app
from helpdesk.triage import (
    CATEGORIES,
    SENTIMENTS,
    URGENCIES,
    Example,
    Triage,
    TriageContext,
    Triager,
    load_examples,
)
from services import build_triager


@pytest.fixture(scope="module")
def triager(embedder: Any) -> Triager:
    triager = build_triager(embedder, None)  # as the server builds it: with the intent reader
    triager.warm()
    return triager


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Hi, has my order 20331 shipped yet?", "order_status"),
        ("Tracking says delivered but there's nothing at my door", "delivery_problem"),
        ("The parcel arrived with the screen smashed", "delivery_problem"),
        ("How do I send back a jumper that doesn't fit and get my money back?", "return_refund"),
        ("Could I swap these trousers for a size 12?", "exchange"),
        ("Please cancel order 5521, I ordered it by mistake", "cancellation"),
        ("Can I change the delivery address on my order before it ships?", "order_change"),
        ("You charged my card twice for one order", "payment_billing"),
        ("Is the wool coat machine washable?", "product_question"),
        ("Do you deliver to Switzerland and how much does it cost?", "shipping_policy"),
        ("I can't reset my password, the link never arrives", "account"),
        ("Please erase all the personal data you hold about me", "privacy"),
        ("Take me off your mailing list please", "marketing"),
        ("Your customer service has been awful, nobody ever gets back to me", "complaint"),
        ("Just wanted to say the new app is brilliant, well done", "feedback"),
        ("I'd like to speak to a real person", "human_request"),
        ("Are you hiring in the warehouse?", "other"),
        ("Vorrei restituire le scarpe", "return_refund"),
    ],
)
def test_categories(triager: Triager, text: str, category: str) -> None:
    assert triager.triage(text).category == category


def test_the_public_shape(triager: Triager) -> None:
    verdict = triager.triage("Where is my order #1042?")
    assert verdict.as_dict() == {
        "category": "order_status",
        "urgency": "normal",
        "sentiment": "neutral",
        "language": "en",
        "confidence": round(verdict.confidence, 3),
    }
    assert 0.0 < verdict.confidence <= 1.0
    with pytest.raises(AttributeError):
        verdict.category = "other"  # type: ignore[misc]


def test_asking_for_a_human_wins_over_the_topic(triager: Triager) -> None:
    verdict = triager.triage("I want a human to sort out my refund")
    assert verdict.category == "human_request"
    assert verdict.confidence >= 0.95
    assert "human_request" in verdict.signals


def test_safety_is_urgent(triager: Triager) -> None:
    verdict = triager.triage("The battery in the speaker caught fire while charging")
    assert (verdict.category, verdict.urgency, verdict.sentiment) == (
        "complaint",
        "urgent",
        "negative",
    )
    french = triager.triage("Le radiateur a pris feu dans la chambre de mon fils")
    assert (french.language, french.urgency) == ("fr", "urgent")


@pytest.mark.parametrize(
    "text",
    [
        "My lawyer will contact you about the broken sofa",
        "I'm going to report this to my bank as a chargeback",
        "Fix this or I'll see you in small claims court",
    ],
)
def test_legal_and_chargeback_threats_are_at_least_high(triager: Triager, text: str) -> None:
    verdict = triager.triage(text)
    assert verdict.urgency in ("high", "urgent")
    assert verdict.sentiment == "negative"


def test_context_raises_urgency(triager: Triager) -> None:
    text = "where is my order?"
    assert triager.triage(text).urgency == "normal"
    for context in (
        TriageContext(vip=True),
        TriageContext(prior_contacts_7d=3),
        TriageContext(order_value=Decimal("1200")),
        TriageContext(misunderstandings=2),
    ):
        assert triager.triage(text, context).urgency == "high"
    assert triager.triage("Is the mug dishwasher safe?", TriageContext(vip=True)).urgency == (
        "normal"
    )
    angry_vip = triager.triage("WHERE IS MY PARCEL, third time asking!!", TriageContext(vip=True))
    assert angry_vip.urgency == "urgent"


def test_languages_and_sentiment(triager: Triager) -> None:
    verdicts = triager.triage_many(
        ["Danke, alles bestens!", "¿Dónde está mi pedido?", "Mijn pakket is kapot aangekomen"]
    )
    assert [v.language for v in verdicts] == ["de", "es", "nl"]
    assert verdicts[0].sentiment == "positive"
    assert verdicts[1].category == "order_status"
    assert verdicts[2].sentiment == "negative"


def test_triage_many_matches_triage(triager: Triager) -> None:
    texts = ["cancel my order pls", "Love it, thanks!"]
    # A batch pads its texts, which moves the embeddings in the 7th decimal place.
    for batched, single in zip(triager.triage_many(texts), map(triager.triage, texts), strict=True):
        assert batched.confidence == pytest.approx(single.confidence, abs=1e-4)
        assert replace(batched, confidence=0) == replace(single, confidence=0)
    assert triager.triage_many([]) == []


# --- the labelled set and the held-out floor --------------------------------------------------


def test_labelled_set_is_well_formed() -> None:
    rows = load_rows()
    assert len(rows) >= 400
    assert sum(r["split"] == "heldout" for r in rows) >= 120
    assert len({r["id"] for r in rows}) == len({r["text"] for r in rows}) == len(rows)
    for r in rows:
        assert r["category"] in CATEGORIES and r["urgency"] in URGENCIES
        assert r["sentiment"] in SENTIMENTS and r["split"] in ("train", "heldout")
    assert {r["category"] for r in rows if r["split"] == "heldout"} == set(CATEGORIES)


def test_training_examples_are_exactly_the_train_split() -> None:
    rows = load_rows()
    heldout = {r["text"] for r in rows if r["split"] == "heldout"}
    train = [
        Example(r["text"], r["category"], r["sentiment"]) for r in rows if r["split"] == "train"
    ]
    examples = load_examples()
    assert not heldout & {e.text for e in examples}
    assert examples == train  # run evals/triage/build_examples.py after editing the set


def test_heldout_accuracy_stays_above_the_floor(triager: Triager) -> None:
    rows = [r for r in load_rows() if r["split"] == "heldout"]
    report = score(rows, predict(triager, rows))
    # Measured 93.5% / 97.8% / 90.8% / 100% with the default embedder (docs/triage.md; the stock
    # MiniLM build: 91.3% / 97.3% / 89.1% / 100%); a drop below these floors is a regression in
    # the examples, the rules, the fits or the embedder.
    assert report["category_accuracy"] >= 0.88
    assert report["urgency_accuracy"] >= 0.94
    assert report["sentiment_accuracy"] >= 0.86
    assert report["language_accuracy"] >= 0.98


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_json(triager: Triager) -> None:
    result = CliRunner().invoke(
        app, ["I want to talk to a person", "--json"], obj={"triager": triager}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "category": "human_request",
        "urgency": "normal",
        "sentiment": "neutral",
        "language": "en",
        "confidence": json.loads(result.output)["confidence"],
    }


def test_cli_text_and_context_options(triager: Triager) -> None:
    result = CliRunner().invoke(app, ["where is my order?", "--vip"], obj={"triager": triager})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("order_status  urgency=high")
    assert "signals=vip" in result.output


def test_cli_file_gives_one_json_line_per_message(triager: Triager, tmp_path: Path) -> None:
    messages = tmp_path / "messages.txt"
    messages.write_text(
        "Where is my order 1042?\n\nLe chargeur a pris feu !\nunsubscribe me\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["--file", str(messages)], obj={"triager": triager})
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["category"] for line in lines] == ["order_status", "complaint", "marketing"]
    assert lines[1]["urgency"] == "urgent" and lines[1]["language"] == "fr"


def test_cli_needs_exactly_one_input(triager: Triager, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, [], obj={"triager": triager}).exit_code == 2
    both = runner.invoke(app, ["hi", "--file", "x.txt"], obj={"triager": triager})
    assert both.exit_code == 2
    missing = runner.invoke(app, ["--file", str(tmp_path / "nope.txt")], obj={"triager": triager})
    assert missing.exit_code == 2


# --- training and its cache, with a tiny deterministic embedder ---------------------------------


class HashingEmbedder:
    """Bag of hashed words: enough to separate a handful of examples; counts what it embeds."""

    dimension = 64

    def __init__(self) -> None:
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, zlib.crc32(word.encode()) % self.dimension] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


TINY = [
    Example("where is my order", "order_status", "neutral"),
    Example("has my order shipped", "order_status", "neutral"),
    Example("cancel my order", "cancellation", "neutral"),
    Example("please cancel it", "cancellation", "neutral"),
    Example("thanks you are great", "feedback", "positive"),
    Example("great service thanks", "feedback", "positive"),
]


def test_custom_examples_and_embedding_cache(tmp_path: Path) -> None:
    first = HashingEmbedder()
    verdict = Triager(first, examples=TINY, cache_dir=tmp_path).triage("cancel my order please")
    assert isinstance(verdict, Triage) and verdict.category == "cancellation"
    assert len(first.texts) == len(TINY) + 1
    assert len(list(tmp_path.glob("triage-examples-*.npy"))) == 1

    second = HashingEmbedder()
    again = Triager(second, examples=TINY, cache_dir=tmp_path).triage("cancel my order please")
    assert second.texts == ["cancel my order please"]  # examples came from the cache
    assert again == verdict


def test_contexts_must_match_texts() -> None:
    with pytest.raises(ValueError, match="one for one"):
        Triager(HashingEmbedder(), examples=TINY).triage_many(["a", "b"], [None])


def test_the_fit_follows_the_embedders_vector_space() -> None:
    """C and the intent threshold were chosen per model: a fine-tuned embedder gets its own,
    an embedder that names no known space gets MiniLM's, and training uses the fit's C."""
    from helpdesk.triage_model import FITS
    from knowledge.embedder import MINILM_SPACE, SUPPORT_SPACE

    class SupportSpaced(HashingEmbedder):
        space = SUPPORT_SPACE

    assert FITS[SUPPORT_SPACE] != FITS[MINILM_SPACE]
    tuned = Triager(SupportSpaced(), examples=TINY)
    assert tuned.fit == FITS[SUPPORT_SPACE]
    assert Triager(HashingEmbedder(), examples=TINY).fit == FITS[MINILM_SPACE]
    tuned.warm()
    assert tuned._trained().category.c == FITS[SUPPORT_SPACE].category_c
    assert tuned._trained().sentiment.c == FITS[SUPPORT_SPACE].sentiment_c
