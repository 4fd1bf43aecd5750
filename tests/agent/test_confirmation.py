"""classify_answer: a closed list of ways to say yes; everything else is not a yes."""

from __future__ import annotations

import pytest

from agent.confirmation import classify_answer

YES = [
    "yes",
    "Yes.",
    "yes please go ahead",
    "Yes, please go ahead.",
    "sounds good, do it",
    "ok yes",
    "yep that's right",
    "Yep, that’s right!",
    "sure, go ahead",
    "yes please",
    "Confirmed, thanks",
    "ok, thank you",
    "go ahead and do it",
    "that works, please proceed",
    "absolutely",
]
NOT_YES = [
    "yes but change the size",
    "yes?",
    "yes, but to my work address",
    "no, go ahead and cancel it",
    "please",
    "thanks",
    "and",
    "yes and",
    "ok so what happens to my refund",
    "yes for the shoes but not the socks",
    "can you go ahead",
    "sure 👍 wait",
    "what?",
    "I said yes to the wrong thing",
    "yes yes yes yes yes yes yes yes yes",
    "",
]


@pytest.mark.parametrize("text", YES)
def test_forms_people_write_are_a_yes(text: str) -> None:
    assert classify_answer(text) == "yes"


@pytest.mark.parametrize("text", NOT_YES)
def test_anything_else_is_not_a_yes(text: str) -> None:
    assert classify_answer(text) != "yes"


@pytest.mark.parametrize("text", ["no", "No thanks", "nope", "not now", "don't do that"])
def test_a_plain_no_declines(text: str) -> None:
    assert classify_answer(text) == "no"


def test_a_no_that_also_says_go_ahead_is_neither() -> None:
    # contradictory: the action is declined and the message read afresh by the turn
    assert classify_answer("no, go ahead and cancel it") == "other"
    assert classify_answer("yes but change the size") == "other"
