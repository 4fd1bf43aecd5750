"""A price-adjustment question ("it's on sale now, can I get the difference back?") is a question
for the help center's price-adjustment section, not a return request that asks for an order: the
words "bought ... get ... back" read like a return, the difference and the sale say otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from agent.local.intents import IntentClassifier
from agent.local.requests import HELP_CENTER
from tests.agent.test_local_engine import Chat, tools


@pytest.mark.parametrize(
    "text",
    [
        "the sweater I ordered ten days ago got marked down, can I have the difference back?",
        "the backpack I bought on friday is now on sale, could I get the difference refunded?",
    ],
)
def test_a_price_drop_after_buying_reads_as_a_help_center_question(
    intents: IntentClassifier, text: str
) -> None:
    reading = intents.classify(text)
    assert reading.name in HELP_CENTER and not reading.ambiguous, reading


async def test_the_price_drop_question_is_searched_not_asked_for_an_order(
    make_services: Any,
) -> None:
    chat = Chat(await make_services())
    text = "the backpack I bought on friday is now on sale, could I get the difference refunded?"
    reply = await chat.say(text)
    assert tools(reply) == [("search_help_center", True)]
    assert chat.services.knowledge.queries == [text]
    assert "order number" not in reply.text
