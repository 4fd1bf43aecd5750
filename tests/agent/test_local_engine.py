"""The offline engine through the whole runner: slot filling across turns, verification,
help-center answers and abstention, handoff."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from agent.events import TurnResult
from channels.summary import collect
from storage.tables import Escalation


class Chat:
    def __init__(self, services: Any) -> None:
        self.services = services
        self.conversation_id: str | None = None

    async def say(self, text: str) -> TurnResult:
        result = await collect(
            self.services.runner.run_turn(
                text=text, channel="test", conversation_id=self.conversation_id
            )
        )
        self.conversation_id = result.conversation_id
        return result


@pytest.fixture
async def chat(make_services: Any) -> Chat:
    return Chat(await make_services())


def tools(result: TurnResult) -> list[tuple[str, bool]]:
    return [(t.name, t.ok) for t in result.tool_calls]


async def test_order_status_over_three_turns(chat: Chat) -> None:
    first = await chat.say("where is my order?")
    assert "order number" in first.text and "email" in first.text
    assert first.tool_calls == []
    second = await chat.say("it's #1001")
    assert "email address or postal code on order #1001" in second.text
    third = await chat.say("ada@example.com")
    assert tools(third) == [("verify_customer", True), ("get_order", True)]
    assert "Order #1001" in third.text
    assert "UPS" in third.text and "1Z999AA10123456784" in third.text
    assert "Trail Runner" in third.text and "Not shipped yet: Merino Sock" in third.text


async def test_details_in_one_message_in_any_order(chat: Chat) -> None:
    await chat.say("has my package shipped?")
    result = await chat.say("ada@example.com, order 1002")
    assert tools(result) == [("verify_customer", True), ("get_order", True)]
    assert "was delivered on November 15, 2026" in result.text


async def test_email_first_then_order_number(chat: Chat) -> None:
    await chat.say("where's my order")
    ask = await chat.say("ada@example.com")
    assert "order number" in ask.text and ask.tool_calls == []
    result = await chat.say("1001")
    assert tools(result) == [("verify_customer", True), ("get_order", True)]


async def test_postal_code_works_too(chat: Chat) -> None:
    result = await chat.say("where is my order #1002? my zip is 97201")
    assert tools(result) == [("verify_customer", True), ("get_order", True)]


async def test_wrong_email_reveals_nothing_then_retry(chat: Chat) -> None:
    await chat.say("where is my order #1001")
    refused = await chat.say("bob@example.com")
    assert tools(refused) == [("verify_customer", False)]
    assert "couldn't verify" in refused.text
    for leak in ("Trail Runner", "Ada", "UPS", "partially", "1Z999"):
        assert leak not in refused.text
    retry = await chat.say("sorry, it's ada@example.com")
    assert tools(retry) == [("verify_customer", True), ("get_order", True)]


async def test_unknown_order_gets_the_same_refusal(chat: Chat) -> None:
    unknown = await chat.say("order #5555, email ada@example.com")
    assert tools(unknown) == [("verify_customer", False)]
    other = Chat(chat.services)
    wrong = await other.say("order #1001, email bob@example.com")
    assert unknown.text == wrong.text


async def test_after_verification_other_customers_order_is_refused(chat: Chat) -> None:
    await chat.say("order #1001 ada@example.com")
    result = await chat.say("and what about order #1003?")
    assert tools(result) == [("get_order", False)]
    assert "No order" in result.text and "Bob" not in result.text


async def test_help_center_answer_is_cited(chat: Chat) -> None:
    result = await chat.say("What is your return policy?")
    assert tools(result) == [("search_help_center", True)]
    assert "30 days" in result.text and "Source: Returns" in result.text
    assert [(c.id, c.title) for c in result.citations] == [("returns#0", "Returns")]


async def test_unknown_question_offers_a_human_then_escalates(chat: Chat) -> None:
    unknown = await chat.say("how do I get a copy of my invoice?")
    assert "couldn't find an answer" in unknown.text and unknown.citations == []
    handed = await chat.say("yes please")
    assert tools(handed) == [("escalate_to_human", True)]
    assert handed.owner == "queued" and handed.escalation is not None
    assert handed.escalation.reason == "unanswered"


async def test_declining_the_offer_keeps_the_bot(chat: Chat) -> None:
    await chat.say("do you sell submarines?")
    result = await chat.say("no thanks")
    assert result.tool_calls == [] and result.owner == "bot"
    assert "anything else" in result.text


async def test_human_request_escalates_at_once_and_bot_goes_quiet(chat: Chat) -> None:
    result = await chat.say("I want to talk to a person")
    assert tools(result) == [("escalate_to_human", True)]
    assert result.escalation is not None and result.escalation.reason == "customer_request"
    assert "support team" in result.text
    async with chat.services.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Escalation))
    assert count == 1
    quiet = await chat.say("hello? anyone?")
    assert quiet.message_id is None and quiet.text == "" and quiet.owner == "queued"


async def test_greeting_thanks_goodbye_and_fallback(chat: Chat) -> None:
    assert "How can I help" in (await chat.say("hi")).text
    assert "welcome" in (await chat.say("thanks!")).text
    assert "Have a great day" in (await chat.say("bye")).text
    assert "didn't quite get that" in (await chat.say("yes")).text


async def test_a_question_mid_flow_changes_the_subject(chat: Chat) -> None:
    await chat.say("where is my order?")
    answer = await chat.say("What is your return policy?")
    assert [t.name for t in answer.tool_calls] == ["search_help_center"]
    assert "Source: Returns" in answer.text
    back = await chat.say("ok, where is my order #1001? ada@example.com")
    assert [t.name for t in back.tool_calls] == ["verify_customer", "get_order"]


@pytest.mark.parametrize(
    "question",
    [
        "can i pick up my order in person?",
        "do you ship my order in plastic-free packaging",
        "can I change the shipping speed on my order",
    ],
)
async def test_a_general_question_that_mentions_an_order_goes_to_the_help_center(
    chat: Chat, question: str
) -> None:
    result = await chat.say(question)
    assert tools(result) == [("search_help_center", True)]
    assert "order number" not in result.text


@pytest.mark.parametrize(
    "request_",
    [
        "is there any news on my order",
        "can I see where my package is",
        "do you know when my order will arrive",
        "where is my order?",
    ],
)
async def test_status_requests_in_question_form_still_ask_for_the_order(
    chat: Chat, request_: str
) -> None:
    result = await chat.say(request_)
    assert result.tool_calls == []
    assert "order number" in result.text
