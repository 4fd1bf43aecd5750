"""Where a message goes when its reading alone would send it the wrong way (requests.redirect and
the delivery-question route), through the whole runner: a delivery question without an order,
a greeting or a complaint that names an order, a question about how to reach us, a help-center
question in the middle of an order flow, and "refund please" after a delivery problem."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.triage_language import detect_language
from helpdesk.triage_rules import shouting
from storage.tables import Escalation
from tests.agent.test_local_engine import Chat, tools


@pytest.fixture
async def chat(make_services: Any) -> Chat:
    return Chat(await make_services())


async def escalations(chat: Chat) -> list[str]:
    async with chat.services.sessions() as session:
        return [e.reason for e in await session.scalars(select(Escalation))]


async def test_a_delivery_question_without_an_order_asks_the_help_center_first(
    chat: Chat,
) -> None:
    reply = await chat.say("what happens if my parcel gets lost in the mail?")
    assert tools(reply) == [("search_help_center", True)]
    assert chat.services.knowledge.queries == ["what happens if my parcel gets lost in the mail?"]
    # the canned help center has no answer: the order is the way to help, no "I couldn't find"
    assert "order number" in reply.text and "couldn't find" not in reply.text
    looked = await chat.say("#1002 ada@example.com")
    assert tools(looked) == [("verify_customer", True), ("get_order", True)]
    assert "put it right" in looked.text  # still a delivery problem: the apology and the offer


async def test_a_delivery_question_the_help_center_answers_offers_to_look_at_the_order(
    chat: Chat,
) -> None:
    reply = await chat.say("the courier returned my package to the warehouse, what now?")
    assert [name for name, _ in tools(reply)] == ["search_help_center"]
    assert "30 days" in reply.text and "order number" in reply.text


@pytest.mark.parametrize(
    "text",
    [
        "hi! what's the status of #1001? it's ada@example.com",
        "where is #1001? email ada@example.com",
    ],
)
async def test_a_message_naming_an_order_is_about_that_order(chat: Chat, text: str) -> None:
    reply = await chat.say(text)
    assert tools(reply) == [("verify_customer", True), ("get_order", True)]
    assert "Order #1001" in reply.text


async def test_a_complaint_naming_an_order_shows_it_with_the_apology(chat: Chat) -> None:
    reply = await chat.say("this is ridiculous, I've been waiting forever. where is #1002")
    assert reply.tool_calls == [] and "email address or postal code" in reply.text
    shown = await chat.say("ada@example.com")
    assert tools(shown) == [("verify_customer", True), ("get_order", True)]
    assert "Order #1002" in shown.text and "put it right" in shown.text
    assert await escalations(chat) == []


@pytest.mark.parametrize(
    "text",
    [
        "is there a phone number I can call?",
        "what are your opening hours?",
        "how can I contact customer service",
        "what is your customer service phone number",
    ],
)
async def test_how_to_reach_us_is_a_help_center_question(chat: Chat, text: str) -> None:
    reply = await chat.say(text)
    assert tools(reply) == [("search_help_center", True)]
    assert await escalations(chat) == []


@pytest.mark.parametrize(
    "text",
    [
        "Do I have to pay for shipping if I exchange for a different size?",
        "who pays the postage when I exchange something?",
        "is it free to exchange a jacket?",
        "exchange rules for gloves and hats",
        "whats ur policy on exchanges",
    ],
)
async def test_what_an_exchange_costs_is_the_policy_not_an_exchange(chat: Chat, text: str) -> None:
    reply = await chat.say(text)
    assert tools(reply) == [("search_help_center", True)]
    # searched as read, chat shorthand written out ("ur" -> "your")
    assert chat.services.knowledge.queries == [text.replace(" ur ", " your ")]
    assert "order number" not in reply.text


async def test_an_exchange_asked_for_with_its_cost_starts_the_exchange(chat: Chat) -> None:
    reply = await chat.say("I want to exchange my jacket for a bigger size, is it free?")
    assert reply.tool_calls == [] and "order number" in reply.text


async def test_a_question_inside_an_order_flow_is_answered_then_the_flow_resumes(
    chat: Chat,
) -> None:
    first = await chat.say("I want to return something")
    assert "order number" in first.text
    answered = await chat.say("wait, how long do I have to return things?")
    assert tools(answered) == [("search_help_center", True)]
    assert answered.text.index("30 days") < answered.text.index("order number")
    resumed = await chat.say("#1002 ada@example.com")
    names = [name for name, _ in tools(resumed)]
    assert names[:2] == ["verify_customer", "check_return_eligibility"]


async def test_refund_please_after_a_delivery_problem_starts_a_return(chat: Chat) -> None:
    await chat.say("my parcel #1002 arrived damaged, ada@example.com")
    reply = await chat.say("refund please")
    names = [name for name, _ in tools(reply)]
    assert "list_returns" not in names and names[:1] == ["check_return_eligibility"]
    assert await escalations(chat) == []


def test_an_email_in_capitals_is_not_shouting_and_hmm_is_not_german() -> None:
    assert not shouting("MARY.STEWART@EXAMPLE.NET")
    assert shouting("WHERE IS MY ORDER")
    assert [detect_language(t) for t in ("hmm", "huh", "bonjour", "grazie")] == [
        "en",
        "en",
        "fr",
        "it",
    ]


async def test_gibberish_twice_hands_over_on_the_third_message(chat: Chat) -> None:
    first = await chat.say("blorp")
    assert first.tool_calls == [] and "didn't quite get that" in first.text
    await chat.say("zzzz qqqq")
    third = await chat.say("hmm")
    assert [name for name, _ in tools(third)] == ["escalate_to_human"]
    assert len(await escalations(chat)) == 1


def test_no_clarifying_question_when_both_readings_are_served_alike() -> None:
    from agent.local.intents import Intent
    from agent.local.requests import settle
    from agent.local.state import State

    def close(a: str, b: str) -> Intent:
        return Intent(a, 0.45, runner_up=b, runner_up_score=0.4, ambiguous=True)

    assert settle(close("shipping_info", "international"), State()) == "question"
    assert settle(close("delivery_problem", "return_policy"), State()) == "delivery_problem"
    assert settle(close("order_status", "delivery_problem"), State()) == "delivery_problem"
    # with an order in hand, "where is it" and "it has a problem" lead to different replies
    assert settle(close("order_status", "delivery_problem"), State(order_number="#1001")) is None
    assert settle(close("return_request", "exchange"), State()) is None
    # one reply serves a complaint and feedback alike: thanks, passed on, a person on request
    assert settle(close("feedback", "complaint"), State()) == "remark"
    # a help-center topic or "where is my order", no order yet: the answer, then the offer
    assert settle(close("account_login", "order_status"), State()) == "order_question"
    assert settle(close("order_status", "account_login"), State(order_number="#1001")) is None
    # how refunds go, no order yet: the policy, then the offer to check one's own refund
    assert settle(close("refund_status", "return_policy"), State()) == "refund_question"
    assert settle(close("refund_status", "return_policy"), State(order_number="#1001")) is None
    assert settle(close("order_status", "refund_status"), State()) is None


def read_as(monkeypatch: pytest.MonkeyPatch, best: str, p: float, second: str, q: float) -> None:
    """The engine reads the next message between `best` and `second`, whatever its embedder says
    of it (the ones after, as it reads them): these tests are about the route a close reading
    takes, not about the model."""
    from agent.local import dialogue
    from agent.local.intents import Intent
    from agent.local.understand import Reading

    model_read, calls = dialogue.read, []

    def read(text: str, intents: Any) -> Reading:
        calls.append(text)
        if len(calls) > 1:
            return model_read(text, intents)
        return Reading("en", [Intent(best, p, False, second, q, True, text)])

    monkeypatch.setattr(dialogue, "read", read)


async def test_a_remark_read_between_complaint_and_feedback_is_thanked_without_a_question(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_as(monkeypatch, "complaint", 0.51, "feedback", 0.46)  # MiniLM's reading of it
    reply = await chat.say("your website is really slow on mobile fyi")
    assert reply.tool_calls == [] and "Just to be sure" not in reply.text
    assert "team sees it" in reply.text
    handed = await chat.say("yes please")  # the person on offer, as for a complaint
    assert tools(handed) == [("escalate_to_human", True)]
    assert await escalations(chat) == ["complaint"]


async def test_an_order_question_close_to_a_help_center_topic_is_not_a_clarifying_question(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_as(monkeypatch, "account_login", 0.44, "order_status", 0.35)  # MiniLM's reading of it
    reply = await chat.say("I checked out as a guest, can I still track my order?")
    assert [name for name, _ in tools(reply)] == ["search_help_center"]
    assert "Just to be sure" not in reply.text
    # the canned help center has no answer: the order itself is asked for, no "I couldn't find"
    assert "order number" in reply.text and "couldn't find" not in reply.text
