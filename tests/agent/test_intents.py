"""Intent reading: the blind held-out floor, the rule layer, typos, splitting, languages, and the
data files it reads."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from agent.local import rules
from agent.local.intent_model import (
    OUT_OF_SCOPE,
    Calibration,
    packaged_calibration,
    packaged_intents,
    packaged_out_of_scope,
)
from agent.local.intents import FLOW_INTENTS, IntentClassifier, decide
from agent.local.normalize import stems
from agent.local.phrases import _phrases, languages, phrase, yes_or_no
from agent.local.split import MAX_CUTS, parts, run_on_cuts
from agent.local.understand import read
from evals.intents.run import HELDOUT, TWO_REQUESTS, evaluate, load_rows
from helpdesk.triage_language import detect_language
from helpdesk.triage_rules import asks_for_human

TAXONOMY = {
    "order_status", "delivery_problem", "return_request", "refund_status", "return_policy",
    "exchange", "cancel_order", "order_change", "payment_billing", "promo_code",
    "product_question", "shipping_info", "international", "account_login", "privacy",
    "marketing", "complaint", "feedback", "human", "greeting", "thanks", "goodbye",
}  # fmt: skip


def test_heldout_accuracy_stays_above_the_floor(intents: IntentClassifier) -> None:
    """The blind set another helper wrote; never used to tune (docs/intents.md). Measured at
    2067e14: 95.1% on English messages, 92.8% with the 40 in other languages (those get the
    reply in their language whatever the intent), OOS recall 86.8%, in-scope called OOS 3.2%."""
    report = evaluate(intents, load_rows(HELDOUT))
    assert report["n"] >= 500
    assert report["intent_accuracy_english"] >= 0.93, report
    assert report["intent_accuracy"] >= 0.92, report  # the goal
    assert report["oos_recall"] >= 0.85, report
    assert report["in_scope_called_oos"] <= 0.05, report


def test_the_examples_cover_the_taxonomy() -> None:
    examples = packaged_intents()
    assert set(examples) == TAXONOMY
    for name, entry in examples.items():
        texts = [str(t) for t in entry["examples"]]
        assert len(set(texts)) == len(texts) >= 40, name
        assert entry["does"], name
    general = [t for topic in packaged_out_of_scope().values() for t in topic]
    assert len(set(general)) == len(general) >= 150
    assert FLOW_INTENTS < TAXONOMY


def test_the_calibration_is_a_fit_not_a_default() -> None:
    fitted = packaged_calibration()
    assert 0.0 < fitted.oos_floor < 0.6 and 0.0 <= fitted.clarify_margin < 0.4
    assert fitted.c > 0
    assert fitted != Calibration()


def test_each_embedding_space_has_its_own_calibration(tmp_path: Path) -> None:
    """The probabilities of two models are not on one scale: each space keeps its own fit, a
    refit of one keeps the others, and an unknown space falls to the default's."""
    from evals.intents.crossval import write_calibration
    from knowledge.embedder import MINILM_SPACE, SUPPORT_SPACE

    for space in (MINILM_SPACE, SUPPORT_SPACE):
        fitted = packaged_calibration(space)
        assert fitted != Calibration() and 0.0 < fitted.oos_floor < 0.6, space
    default = packaged_calibration(None)
    assert packaged_calibration("no-such-model") == default
    path = tmp_path / "calibration.yaml"
    path.write_text("default: a\na:\n  c: 10.0\n  oos_floor: 0.3\n", encoding="utf-8")
    write_calibration(path, "b", {"c": 30.0, "oos_floor": 0.2, "clarify_margin": 0.15})
    write_calibration(path, "a", {"c": 100.0, "oos_floor": 0.25})
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert raw == {
        "default": "a",
        "a": {"c": 100.0, "oos_floor": 0.25},
        "b": {"c": 30.0, "oos_floor": 0.2, "clarify_margin": 0.15},
    }


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I'm cancelling my order", "cancel_order"),
        ("cancelling order #2002 please", "cancel_order"),
        ("I need this order canceled", "cancel_order"),
        ("can I get my order cancelled", "cancel_order"),
        ("returning the hoodie, too small", "return_request"),
        # "send back" before what goes back (it read as out of scope)
        ("I need to send back a cat tree that doesn't fit. What's the process?", "return_request"),
        # the verb first, then the product's name
        ("return Merino Base Layer Top, order #1895, eddie@example.net", "return_request"),
        ("return policy for sale items?", None),
        ("return shipping cost", None),
        ("returns free?", None),
        ("swap for a large please", "exchange"),
        ("I need to change the shipping address on #2002", "order_change"),
        ("I returned it weeks ago and no refund yet", "refund_status"),
        ("you cancelled my order but I haven't got my money back", None),
        ("my order was canceled, why?", None),
        # the customer's own cancellation or return, told before what they ask
        ("I canceled order 3310 on friday but the charge is still pending", None),
        ("cancelled the boots yesterday, when does the money come back", None),
        ("returned the fleece last month, still waiting", None),
        ("cancel it, I already returned the other one", "cancel_order"),
        ("what is your cancellation policy", None),
        ("how do I change the email address on my account", None),
        # a line taken off or put on an order, whatever its product's name reads as
        (
            "please remove the Trailhead Running Tight (S / Charcoal) from my order #2097",
            "order_change",
        ),
        ("can you add a beanie to my order before it ships", "order_change"),
        ("take the gloves off the order pls", "order_change"),
        ("remove me from your mailing list", None),
    ],
)
def test_order_action_rules_read_inflections_and_skip_reports(
    text: str, intent: str | None
) -> None:
    assert rules.order_action(text) == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # whether, or on which conditions, something may go back: the policy (issue #10)
        ("if I wore them once could I still send them back?", "return_policy"),
        ("can we return it without the original receipt", "return_policy"),
        (
            "it was a present, can I return it for store credit if I have no receipt?",
            "return_policy",
        ),
        ("could I exchange the jacket once I've taken the tags off?", "return_policy"),
        # an amount or a period is not an order number
        ("can I still return it after 100 days?", "return_policy"),
        ("can I return the boots that cost $150 if I opened them?", "return_policy"),
        ("can I return the boots that cost 150 dollars if I opened them?", "return_policy"),
        # asking for the return itself, or about a named order: the return flow
        ("can I return my shoes?", "return_request"),
        ("I'd like to return it if possible, it was used once", "return_request"),
        ("can I still return the jacket from order 1003 if I used it?", "return_request"),
        ("I want to exchange the boots even though I wore them", "exchange"),
    ],
)
def test_a_conditional_question_about_returning_is_a_policy_question(
    text: str, intent: str
) -> None:
    assert rules.order_action(text) == intent


def test_stems_and_dialogue_acts() -> None:
    assert stems("Cancelling, canceled, cancellation") == "cancel cancel cancel"
    said = ("yes please", "no thanks", "hi", "ok thanks", "bye")
    assert [rules.dialogue_act(t) for t in said] == [
        "affirm", "deny", "greeting", "thanks", "goodbye",
    ]  # fmt: skip
    assert rules.wants_person("I want to talk to a person") and asks_for_human("agent")


def test_typos_are_fixed_against_the_store_vocabulary(intents: IntentClassifier) -> None:
    fix = intents.fixer.fix
    assert fix("wher is my ordr") == "where is my order"
    assert fix("waht is ur retrun polcy?") == "what is your return policy?"
    assert fix("cancle my ordr pls") == "cancel my order please"
    # chat shorthand is written out; sizes, countries and addresses are not shorthand
    assert fix("do u have a code rn") == "do you have a code right now"
    assert fix("im waiting on my pkg, thx") == "I'm waiting on my package, thanks"
    for kept in (
        "size R",
        "ship to the U.S.",
        "do you ship to BC",
        "email u@example.com",
        "order #u1",
    ):
        assert fix(kept) == kept
    # English words and names the store has not seen stay as written
    for kept in ("the manager was unhelpful", "take me off your mailing list", "my wifi", "ikea"):
        assert fix(kept) == kept


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("wher is my ordr", "order_status"),
        ("retrun polcy?", "return_policy"),
        ("cancle my ordr pls", "cancel_order"),
        ("do u have a code for first orders", "marketing"),  # was out of scope: "u"
        ("what's the weather like in Paris tomorrow", OUT_OF_SCOPE),
        ("give me a recipe for banana bread", OUT_OF_SCOPE),
        ("how long do refunds take?", "return_policy"),
        ("I sent the boots back two weeks ago, where's my money?", "refund_status"),
    ],
)
def test_reading(intents: IntentClassifier, text: str, intent: str) -> None:
    assert intents.classify(text).name == intent


def test_out_of_scope_floor_and_clarifying_margin() -> None:
    labels = ["out_of_scope", "refund_status", "return_policy", "thanks"]
    fit = Calibration(c=1.0, oos_floor=0.3, clarify_margin=0.1)
    unsure = decide(np.array([0.2, 0.28, 0.27, 0.25]), labels, fit)
    assert unsure.name == OUT_OF_SCOPE and unsure.runner_up == "refund_status"
    close = decide(np.array([0.05, 0.48, 0.45, 0.02]), labels, fit)
    assert close.name == "refund_status" and close.ambiguous
    assert close.runner_up == "return_policy"
    clear = decide(np.array([0.05, 0.8, 0.1, 0.05]), labels, fit)
    assert not clear.ambiguous
    # small talk is never offered as one side of a clarifying question
    assert not decide(np.array([0.0, 0.5, 0.0, 0.45]), labels, fit).ambiguous


def test_the_model_reads_the_words_beside_the_embedding(intents: IntentClassifier) -> None:
    model = intents._model  # noqa: SLF001 - the fitted model itself
    assert model.words is not None and model.keyword_weight == packaged_calibration().keyword_weight
    assert {"window", "return window"} <= set(model.words.vocabulary_)
    texts = ["what's your return window", "where is my refund"]
    probabilities, labels = intents.probabilities(intents.vectors(texts), texts)
    assert probabilities.shape == (2, len(labels)) and np.allclose(probabilities.sum(axis=1), 1)
    assert [labels[i] for i in probabilities.argmax(axis=1)] == ["return_policy", "refund_status"]


def test_triage_reads_with_the_same_vector(intents: IntentClassifier) -> None:
    [reading] = intents.read(["wher is my ordr #1001"], ["en"])
    expected = intents.vectors(["where is my order"])[0]
    assert reading.intent == "order_status"
    assert np.allclose(reading.vector, expected, atol=1e-5)


def test_splitting_into_requests() -> None:
    assert parts("where is my order #1001 and what is your return policy?") == [
        "where is my order #1001",
        "what is your return policy?",
    ]
    assert parts("Hi! I want to return my boots. How long do refunds take?") == [
        "I want to return my boots.",
        "How long do refunds take?",
    ]
    one = "I want to return the trail runner, it doesn't fit, refund please"
    assert parts(one) == [one]
    assert parts("order #1002, email ada@example.com") == ["order #1002, email ada@example.com"]
    # a verb that asks for something of its own after "and"; "and get my money back" does not
    assert parts("please delete my data and stop sending me promo emails") == [
        "please delete my data",
        "stop sending me promo emails",
    ]
    assert parts(
        "I'd like to cancel #1555 and get my money back, how long will the refund take?"
    ) == [
        "I'd like to cancel #1555 and get my money back",
        "how long will the refund take?",
    ]
    # a closing question after a condition or a greeting stays whole
    assert parts("if it doesn't fit, can I return it for free?") == [
        "if it doesn't fit, can I return it for free?"
    ]
    assert parts("Hi, where is order 1600?") == ["Hi, where is order 1600?"]
    # a report before the question is its context, not a request (a cancellation it is not)
    report = "i cancelled an order yesterday, when does the charge disappear from my card?"
    assert parts(report) == [report]
    assert parts("when it arrives, can I return it?") == ["when it arrives, can I return it?"]
    # words that change the subject, whatever follows them
    assert parts("need a medium the large is huge btw my other order 1188 hasnt shipped") == [
        "need a medium the large is huge",
        "my other order 1188 hasnt shipped",
    ]
    assert parts("can i swap the beanie for grey, i also have a 10% code can i use it") == [
        "can i swap the beanie for grey",
        "i also have a 10% code can i use it",
    ]
    assert parts("where is my order? one more thing: do you ship to Canada") == [
        "where is my order?",
        "do you ship to Canada",
    ]


def test_run_on_cuts() -> None:
    """Candidate cuts of a message with no boundary the splitter trusts: after a joining word or
    sign, before the words that open a request; never where the first side cannot end, before a
    condition or details, or after "so" (what went before is the reason)."""
    [cut] = run_on_cuts("my parcel still hasnt moved in 6 days can i speak to a real person")
    assert (cut.before, cut.after, cut.joined) == (
        "my parcel still hasnt moved in 6 days",
        "can i speak to a real person",
        False,
    )
    [cut] = run_on_cuts("i need to return the boots plus swap the rain jacket for a medium")
    assert (cut.before, cut.after, cut.joined) == (
        "i need to return the boots",
        "swap the rain jacket for a medium",
        True,
    )
    assert run_on_cuts("I ordered the wrong size by mistake so please cancel it") == []
    assert run_on_cuts("can I return the boots if they dont fit") == []
    assert run_on_cuts("where is my order, number 1234 email ada@example.com") == []
    # at most MAX_CUTS, the most balanced first; never a side ending on "can i"
    cuts = run_on_cuts("i want to exchange the jacket for a small can i still use my code")
    assert 1 <= len(cuts) <= MAX_CUTS
    assert all(not c.before.endswith("can i") for c in cuts)


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        # two requests with no boundary the splitter trusts (each read as one before)
        (
            "code SPRING10 does not work at checkout + how much is standard shipping to texas",
            ["promo_code", "shipping_info"],
        ),
        ("i need to return the boots plus swap the rain jacket for a medium",
         ["return_request", "exchange"]),
        ("unsubscribe me from your emails then delete all the data you have on me",
         ["marketing", "privacy"]),
        # one request with its reason, praise or a second verb of the same request
        ("I ordered the wrong size by mistake so please cancel it before it ships",
         ["cancel_order"]),
        ("the tent is great but a bit small, can I exchange it for the 3 person one",
         ["exchange"]),
        ("i want to send the jacket back and get my money back", ["return_request"]),
        # the customer's own past action told first, or a second side that only points back
        ("cancelled the order on tuesday is my refund on its way", ["refund_status"]),
        ("I got charged twice for order 5521 please sort it", ["payment_billing"]),
        ("forgot to put my promo code in at checkout can you apply it to the order",
         ["promo_code"]),
        ("i'd rather swap these boots than send them back, how do i do that", ["exchange"]),
    ],
)  # fmt: skip
def test_run_on_messages(intents: IntentClassifier, text: str, wanted: list[str]) -> None:
    assert [i.name for i in read(text, intents).requests] == wanted


def test_a_question_part_does_not_speak_for_a_message_surely_off_topic(
    intents: IntentClassifier,
) -> None:
    # the whole is off-topic at ~0.9; its question part alone was a weak shipping guess that
    # asked "do you want to know about shipping, or to exchange?"
    text = (
        "I need to write a cover letter for a marketing job. Can you draft one for me? "
        "I have about 3 years experience."
    )
    assert [i.name for i in read(text, intents).requests] == ["out_of_scope"]
    # one question beside context still speaks for the message
    context = "I bought boots last month. how long does a refund take once you get them back?"
    assert [i.name for i in read(context, intents).requests] == ["return_policy"]


def test_two_requests_on_the_dev_set(intents: IntentClassifier) -> None:
    """evals/intents/two_requests.txt: written for this project to develop the splitter (the
    held-out set's two-request messages are never used for it). 42 of 45 at commit time."""
    rows = []
    for line in TWO_REQUESTS.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            wanted, text = line.split("\t")
            rows.append({"text": text, "intent": wanted})
    report = evaluate(intents, rows)
    assert len(rows) >= 40
    assert report["two_requests_both_read"] >= 0.85, report["errors"]


def test_language_detection_on_short_messages() -> None:
    """evals/language/short_messages.txt: 170 messages of 1–8 words written for this project."""
    path = HELDOUT.parents[1] / "language" / "short_messages.txt"
    rows = [
        line.split("\t", 1)
        for line in path.read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    hits = sum(detect_language(text) == code for code, text in rows)
    english = [text for code, text in rows if code == "en"]
    assert len(rows) >= 150 and hits / len(rows) >= 0.95
    assert all(detect_language(text) == "en" for text in english)


def test_every_language_says_the_same_things() -> None:
    assert set(languages()) >= {"es", "fr", "de", "it", "pt"}
    for code in languages():
        table = _phrases()[code]
        for key, holes in (("scope_offer", {"store"}), ("escalated", {"notice"})):
            assert set(re.findall(r"{(\w+)}", table[key])) == holes, (code, key)
        assert table["affirm"] and table["deny"] and table["declined"] and table["name"]
        assert "Northwind" in phrase("scope_offer", code, store="Northwind")
    assert yes_or_no("Sí, por favor.", "es") == "yes" and yes_or_no("non merci", "fr") == "no"
    assert yes_or_no("quiero otra cosa", "es") is None
    assert set(re.findall(r"{(\w+)}", phrase("clarify", first="{first}", second="{second}"))) == {
        "first", "second",
    }  # fmt: skip


async def test_the_engine_reads_concurrent_messages_from_one_embedding_batch(
    intents: IntentClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """understand.prefetch embeds what `read` will classify, batched across turns; details
    alone and rule-read messages embed nothing."""
    import asyncio
    from collections import OrderedDict

    from agent.local.understand import prefetch

    embedder = intents.embedder  # trained already: only the messages are embedded below
    calls: list[list[str]] = []
    encode = embedder._encode
    monkeypatch.setattr(embedder, "_cache", OrderedDict())
    monkeypatch.setattr(
        embedder, "_encode", lambda texts: calls.append(list(texts)) or encode(texts)
    )
    messages = [
        "do u ship to canada",
        "what material is the rain jacket",
        "#2041 ada@example.com",  # details only
        "cancel my order please",  # a rule reads it
    ]
    await asyncio.gather(*(prefetch(m, intents) for m in messages))
    assert len(calls) == 1 and len(calls[0]) == 2
    readings = [read(m, intents).requests[0].name for m in messages[:2]]
    assert readings == ["international", "product_question"]
    assert len(calls) == 1  # read() found both in the cache
