"""The labelled question sets of the retrieval eval: the question file format and the named sets.

A question's `relevant` labels are section keys ("doc|heading") or, for a Q&A file whose entries
have ids, entry ids ("f017"); `split` is "dev" (tune here) or "test" (held out).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

QUESTIONS = Path(__file__).with_name("questions.jsonl")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answerable: bool
    relevant: list[str]
    split: str


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    return [Question(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


@dataclass(frozen=True)
class EvalSet:
    name: str
    corpus: Path | None  # None: the packaged demo help center
    questions: Path
    # the corpus's store: its own support address, so its own links are not flagged
    settings: tuple[tuple[str, str], ...] = ()


def named_sets() -> dict[str, EvalSet]:
    here = Path(__file__).parent
    faq2 = here.parent / "faq2"
    faq3 = here.parent / "faq3"
    faq4 = here.parent / "faq4"
    return {
        "project": EvalSet("project", None, QUESTIONS),
        "demo-blind": EvalSet("demo-blind", None, here / "blind_questions.jsonl"),
        "faq2-blind": EvalSet(
            "faq2-blind",
            faq2 / "faq.json",
            faq2 / "blind_questions.jsonl",
            (("support_email", "help@brightwire.example"), ("store_name", "Brightwire")),
        ),
        # a third store (3d6a0a2): one question per entry, as a merchant's FAQ page has
        "faq3-blind": EvalSet(
            "faq3-blind",
            faq3 / "faq.json",
            faq3 / "blind_questions.jsonl",
            (("support_email", "help@hearthwell.example"), ("store_name", "Hearthwell")),
        ),
        # a fourth store (pet supplies), its FAQ as a CSV export with a category column
        "faq4-blind": EvalSet(
            "faq4-blind",
            faq4 / "faq.csv",
            faq4 / "blind_questions.jsonl",
            (("support_email", "care@tallgrasspet.example"), ("store_name", "Tallgrass Pet Co.")),
        ),
    }
