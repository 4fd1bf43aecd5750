"""Which retrieved passage a help-center answer quotes: all the passages the search returns
compete (the tool returns kb_top_k = 4), the section whose heading and sentence answer the
question wins over one the retriever happened to rank higher. Passages are the demo help
center's own sections, in the order and with the scores the retriever gave them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from agent.local.passages import answer

DEMO = Path(__file__).resolve().parents[3] / "knowledge" / "demo"


def section(article: str, heading: str, score: float) -> dict[str, Any]:
    text = (DEMO / article).read_text(encoding="utf-8")
    title = re.search(r"^# (.+)$", text, re.MULTILINE)
    assert title is not None
    if heading:
        found = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    else:  # the article's intro, before its first section
        found = re.search(r"^# .+?\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert found is not None, (article, heading)
    return {
        "id": f"{article}#{heading}",
        "title": title.group(1),
        "heading": heading,
        "score": score,
        "text": found.group(1).strip(),
    }


@pytest.mark.parametrize(
    ("question", "retrieved", "quoted"),
    [
        (
            "how do I email your support team?",
            [
                section(
                    "account-and-privacy.md",
                    "Changing your email address or personal details",
                    0.42,
                ),
                section("contact-us.md", "Mailing address", 0.39),
                section("gift-cards.md", "Lost gift card email", 0.40),
                section("contact-us.md", "Email", 0.48),
            ],
            "support@northwind.example",
        ),
        (
            "does an exchange for a different size cost me shipping?",
            [
                section("exchanges.md", "If the new size is out of stock", 0.59),
                section("exchanges.md", "When the new item ships", 0.58),
                section("exchanges.md", "", 0.55),
                section("exchanges.md", "Free exchanges", 0.57),
            ],
            "free",
        ),
        (
            # a cost question, stating a condition of its own ("if I exchange"): the sentence
            # that says it is free, not the section whose heading shares "size"
            "Do I have to pay for shipping if I exchange for a different size?",
            [
                section("exchanges.md", "If the new size is out of stock", 0.49),
                section("exchanges.md", "", 0.44),
                section("exchanges.md", "Free exchanges", 0.46),
            ],
            "free",
        ),
    ],
)
def test_the_answering_section_is_quoted_even_when_retrieved_last(
    embedder: Any, question: str, retrieved: list[dict[str, Any]], quoted: str
) -> None:
    chosen = answer(question, retrieved, embed=embedder.embed)
    assert chosen.passage_id == retrieved[-1]["id"]
    assert quoted in chosen.text
