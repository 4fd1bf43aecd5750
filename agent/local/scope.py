"""Whether a message the classifier reads as out of scope is answered from the help center.

The intent examples are one store's; what is off-topic depends on the trade ("how big should a
dog crate be" is off-topic for an outdoor store, and a pet store's FAQ answers it). So a reading
out of scope, with no order named and no flow open, asks the help center first
(`requests.redirect` names the reading, `dialogue._after_tool` reads the search), and the
out-of-scope reply stands unless the search answers well."""

from __future__ import annotations

from typing import Any

UNSURE = "out_of_scope_unsure"  # the classifier's out-of-scope reading is a guess
STORE = "out_of_scope_store"  # a sure reading; the store's own help center may still cover it
READINGS = (UNSURE, STORE)

# An out-of-scope reading below this is a guess ("standard = how many days" 0.33, "Ordered a tent
# for a camping trip on the 14th, is it going to make it" 0.38); off-topic requests read 0.55
# and up on the first-step dev messages.
UNSURE_BELOW = 0.5
# A guess is answered when the passage quoted is on the topic the message reads as (its
# intent-topic cosine): on the first-step dev messages the in-scope ones read 0.44-0.51,
# off-topic ones that the help center "answers" ("is it gonna rain in seattle") 0.25 and below
RESCUE_TOPIC = 0.35
# Any reading is answered when the search is this confident. Fitted on the 266 off-topic intent
# examples (weather, banking, other shops ...) searched in four help centers: at 0.8 none passes
# on the demo's, 4-6 (1.5-2.3 %) on three other stores' FAQs; of those FAQs' own dev questions
# read out of scope, 14 of 24, 17 of 22 and 28 of 39 are answered
STORE_SCOPE = 0.8


def reading(score: float) -> str:
    """The out-of-scope reading of a message the classifier scores `score` out of scope."""
    return UNSURE if score < UNSURE_BELOW else STORE


def answered(data: dict[str, Any], reading: str | None) -> bool:
    """The help center's search (`search_help_center`'s result) answers a message read so."""
    if data.get("answerable") and float(data.get("confidence") or 0.0) >= STORE_SCOPE:
        return True
    return reading == UNSURE and on_topic(data, RESCUE_TOPIC)


def on_topic(data: dict[str, Any], floor: float) -> bool:
    """The search answered, and its first passage is on the message's topic (at least `floor`)."""
    passages = data.get("passages") or []
    topic = passages[0].get("topic") if passages else None
    return bool(data.get("answerable")) and topic is not None and topic >= floor
