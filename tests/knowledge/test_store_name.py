"""The store's name lends every entry some likeness: a question about the company that the FAQ
does not answer must not be answered from the entry that merely names the store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from knowledge.base import KnowledgeBase
from knowledge.store_name import name_pattern, without_store_name
from tests.knowledge.conftest import write

ENTRIES = [
    {"id": "c1", "question": "Is Tallgrass Pet Co. hiring?",
     "answer": "Yes. Open roles at Tallgrass Pet Co. are listed on our careers page; we hire "
               "for the warehouse, customer care and the pet pharmacy."},
    {"id": "c2", "question": "How long does standard delivery take?",
     "answer": "Standard delivery takes 3 to 5 business days after dispatch."},
    {"id": "c3", "question": "Do gift cards expire?",
     "answer": "No. Gift cards never expire and have no fees."},
]  # fmt: skip


def test_the_name_and_its_first_word_are_taken_out_while_two_words_stay() -> None:
    pattern = name_pattern("Tallgrass Pet Co.")
    assert without_store_name("is tallgrass owned by petco", pattern) == "is owned by petco"
    assert without_store_name("Is Tallgrass Pet Co. hiring?", pattern) == "Is hiring?"
    assert without_store_name("Tallgrass's return policy", pattern) == "return policy"
    assert without_store_name("tallgrass", pattern) == "tallgrass"  # nothing would be left
    assert without_store_name("tallgrass hiring", pattern) == "tallgrass hiring"
    # a common first word: "The" is not the name; a one-word name is taken whole only
    green = name_pattern("The Green Shop")
    assert without_store_name("the green jacket", green) == "the jacket"
    assert without_store_name("the jacket", name_pattern(None)) == "the jacket"
    assert name_pattern("") is None


def test_a_company_question_the_faq_does_not_answer_gets_no_answer(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    faq = write(tmp_path / "faq.json", json.dumps(ENTRIES))
    named = make_kb("named", store_name="Tallgrass Pet Co.")
    named.ingest([faq])
    unnamed = make_kb("unnamed", store_name="Northwind Outfitters")
    unnamed.ingest([faq])
    question = "is tallgrass owned by petco"
    # the same ranking either way: the name only changes whether it answers
    assert [p.id for p in named.search(question).passages] == [
        p.id for p in unnamed.search(question).passages
    ]
    assert unnamed.search(question).answerable  # the name alone made it look answered
    assert not named.search(question).answerable
    hiring = named.search("is tallgrass hiring right now")
    assert hiring.answerable and hiring.passages[0].title == "Is Tallgrass Pet Co. hiring?"
