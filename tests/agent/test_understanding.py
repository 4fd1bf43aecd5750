"""Customers as they really write, through the whole runner: inflections, typos, two requests in
one message, off-topic requests, policy versus status, clarifying questions, complaints, delivery
problems and other languages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from agent.local.engine import LocalChatModel
from agent.local.intent_model import packaged_calibration
from agent.local.intents import IntentClassifier
from agent.local.state import Persona
from commerce.models import OrderStatus
from knowledge.base import build_knowledge_base
from settings import Settings
from storage.tables import Escalation
from tests.agent.test_local_engine import Chat, tools
from tests.fakes import NOW, MemoryStore
from tests.knowledge.conftest import write
from tests.tools.test_order_actions import make_order


@pytest.fixture
async def shop(make_services: Any) -> tuple[Chat, MemoryStore]:
    store = MemoryStore(extra_orders=[make_order("#2002", OrderStatus.PAID, delivered_days=None)])
    return Chat(await make_services(store=store, clock=lambda: NOW)), store


async def reasons(chat: Chat) -> list[str]:
    async with chat.services.sessions() as session:
        return [e.reason for e in await session.scalars(select(Escalation))]


@pytest.mark.parametrize(
    "text",
    [
        "I'm cancelling my order #2002, ada@example.com",
        "can I get order #2002 canceled? ada@example.com",
        "cancelling order 2002 please, ada@example.com",
    ],
)
async def test_inflected_cancellations_start_the_cancel_flow(
    shop: tuple[Chat, MemoryStore], text: str
) -> None:
    chat, store = shop
    reply = await chat.say(text)
    assert tools(reply) == [("verify_customer", True), ("cancel_order", True)]
    assert "Cancel order #2002" in reply.text and "Shall I go ahead?" in reply.text
    await chat.say("yes")
    assert store.orders["#2002"].status == OrderStatus.CANCELLED


async def test_a_misspelt_status_request_asks_for_the_order(chat: Chat) -> None:
    reply = await chat.say("wher is my ordr")
    assert reply.tool_calls == [] and "order number" in reply.text


async def test_two_requests_are_answered_in_turn(chat: Chat) -> None:
    reply = await chat.say(
        "where is my order #1001? ada@example.com. And what is your return policy?"
    )
    assert [name for name, _ in tools(reply)] == [
        "verify_customer",
        "get_order",
        "search_help_center",
    ]
    status, policy = reply.text.index("Order #1001"), reply.text.index("30 days")
    assert status < policy  # in the order they were asked
    assert [c.id for c in reply.citations] == ["returns#0"]


async def test_a_run_on_message_gets_both_answers(chat: Chat) -> None:
    """No punctuation or "and" between the two questions: each is answered, in order."""
    reply = await chat.say("how many days do i have to return stuff + how do i reset my password")
    searches = [t.args["query"] for t in reply.tool_calls if t.name == "search_help_center"]
    assert len(searches) == 2, (reply.text, reply.tool_calls)
    assert "return" in searches[0] and "password" in searches[1]
    assert reply.text.index("30 days") < reply.text.index("couldn't find")


async def test_a_question_beside_an_order_waiting_for_verification_is_answered_at_once(
    chat: Chat,
) -> None:
    reply = await chat.say("where is my order #1001 and also what is your return policy?")
    assert tools(reply) == [("search_help_center", True)]
    text = reply.text
    # the policy now, then what the order part needs from the customer, ending the reply
    assert "30 days" in text and "email address or postal code" in text
    assert text.index("30 days") < text.index("email address or postal code")
    assert [c.id for c in reply.citations] == ["returns#0"]
    status = await chat.say("ada@example.com")
    assert tools(status) == [("verify_customer", True), ("get_order", True)]  # asked once
    assert "Order #1001" in status.text and "30 days" not in status.text


async def test_a_failed_verification_is_still_said_after_the_answer(chat: Chat) -> None:
    reply = await chat.say("where is order #1001, bob@example.com? also what's your return policy")
    assert [name for name, _ in tools(reply)] == ["verify_customer", "search_help_center"]
    assert reply.text.index("30 days") < reply.text.index("couldn't verify")


@pytest.mark.parametrize(
    "text",
    [
        "if I wore them once could I still send them back?",
        "can we return it without the original receipt",
    ],
)
async def test_a_conditional_question_about_returns_goes_to_the_help_center(
    chat: Chat, text: str
) -> None:
    reply = await chat.say(text)
    assert [name for name, _ in tools(reply)] == ["search_help_center"]
    assert "order number" not in reply.text


async def test_an_action_first_then_the_queued_question_then_the_confirmation(
    shop: tuple[Chat, MemoryStore],
) -> None:
    chat, store = shop
    reply = await chat.say(
        "please cancel order #2002, ada@example.com. Also, what is your return policy?"
    )
    assert [name for name, _ in tools(reply)] == [
        "verify_customer",
        "cancel_order",
        "search_help_center",
    ]
    text = reply.text
    assert text.index("Cancel order #2002") < text.index("30 days")
    assert text.rstrip().endswith("Shall I go ahead? Please reply yes or no.")
    await chat.say("yes")
    assert store.orders["#2002"].status == OrderStatus.CANCELLED


@pytest.mark.parametrize(
    "text",
    [
        "what's the weather like in Paris tomorrow?",
        "give me a recipe for banana bread",
        "how do I transfer money to my savings account",
    ],
)
async def test_off_topic_gets_a_short_scope_reply_and_nothing_quoted(chat: Chat, text: str) -> None:
    reply = await chat.say(text)
    # the help center is asked (what is off-topic depends on the store's trade), not quoted
    assert [t.name for t in reply.tool_calls] == ["search_help_center"]
    assert reply.citations == [] and "Source" not in reply.text
    assert "I can help with orders" in reply.text and len(reply.text) < 300


PET_FAQ = [
    {
        "question": "What size crate should I buy?",
        "answer": "Measure your dog from nose to tail base and add 4 inches: a 24-inch crate "
        "suits dogs up to 25 lb, a 36-inch crate dogs up to 70 lb.",
    },
    {
        "question": "How should I switch my pet to a new food?",
        "answer": "Mix the new food into the old over 7 to 10 days, a quarter more every few "
        "days, so your pet's stomach can adjust.",
    },
    {
        "question": "How do I cancel my Autoship subscription?",
        "answer": "Go to Account > Autoship, choose the subscription and select Cancel "
        "Autoship. Orders already shipped are not affected.",
    },
    {
        "question": "How long does delivery take?",
        "answer": "Standard delivery takes 3 to 5 business days.",
    },
]


async def test_the_stores_own_help_center_decides_what_is_off_topic(
    make_services: Any, embedder: Any, tmp_path: Path
) -> None:
    """The intent examples are an outdoor store's, and call pet care off-topic ("how often
    should I walk my dog"); a pet store's FAQ answers such questions, and the agent quotes it.
    A question the FAQ does not answer well still gets the scope reply."""
    kb = build_knowledge_base(Settings(env="test", data_dir=tmp_path / "kb"), embedder)
    kb.ingest([write(tmp_path / "faq.json", json.dumps(PET_FAQ))])
    services = await make_services(knowledge=kb)
    reply = await Chat(services).say("how big should a dog crate be")
    assert [c.title for c in reply.citations] == ["What size crate should I buy?"]
    assert "36-inch" in reply.text or "24-inch" in reply.text
    reply = await Chat(services).say(
        "switching my cat to a new kibble, how many days should I mix them"
    )
    assert [c.title for c in reply.citations] == ["How should I switch my pet to a new food?"]
    # a subscription is not an order: the order flows cannot cancel it, the FAQ says how
    reply = await Chat(services).say("cancel autoship")
    assert [c.title for c in reply.citations] == ["How do I cancel my Autoship subscription?"]
    assert not {t.name for t in reply.tool_calls} & {"lookup_order", "verify_customer"}
    reply = await Chat(services).say("cancel my order")
    assert "order number" in reply.text and reply.citations == []
    for off_topic in (
        "what's the weather like in Paris tomorrow?",
        "give me a recipe for banana bread",
    ):
        reply = await Chat(services).say(off_topic)
        assert reply.citations == [] and "I can help with orders" in reply.text


async def test_refund_policy_goes_to_the_help_center_refund_status_to_the_order(
    chat: Chat,
) -> None:
    policy = await chat.say("how long do refunds take?")
    assert tools(policy) == [("search_help_center", True)]
    other = Chat(chat.services)
    status = await other.say("I sent the boots back two weeks ago, where's my refund?")
    assert status.tool_calls == [] and "order number" in status.text


async def always_unsure_chat(make_services: Any, embedder: Any) -> Chat:
    """A chat whose intent reader calls every reading a close call (clarify margin 1.0)."""
    fit = packaged_calibration()
    always_unsure = IntentClassifier(
        embedder, calibration=type(fit)(c=fit.c, oos_floor=fit.oos_floor, clarify_margin=1.0)
    )
    model = LocalChatModel(intents=always_unsure, persona=Persona("Northwind", "s@example.com"))
    return Chat(await make_services(model=model))


async def test_a_close_call_asks_which_was_meant(make_services: Any, embedder: Any) -> None:
    chat = await always_unsure_chat(make_services, embedder)
    ask = await chat.say("how do returns work?")
    assert ask.tool_calls == [] and ask.text.startswith("Just to be sure: do you want to")
    assert " or to " in ask.text
    chosen = await chat.say("how returns work")
    assert tools(chosen) == [("search_help_center", True)]
    assert chat.services.knowledge.queries == ["how do returns work?"]


async def test_refunds_in_general_get_the_policy_and_an_offer_to_check(
    make_services: Any, embedder: Any
) -> None:
    """A refund question close to both the policy and one refund's status: the policy answers
    and the reply offers to look at the refund, with no clarifying question; the order named
    next is checked for refunds."""
    chat = await always_unsure_chat(make_services, embedder)
    answer = await chat.say("how long do refunds take?")
    assert tools(answer) == [("search_help_center", True)]
    assert "order number" in answer.text and not answer.text.startswith("Just to be sure")
    checked = await chat.say("#1002 ada@example.com")
    assert [name for name, _ in tools(checked)] == ["verify_customer", "list_returns"]


async def test_a_complaint_offers_a_person_and_yes_hands_over(chat: Chat) -> None:
    reply = await chat.say("your customer service is terrible, nobody ever answers my emails")
    assert reply.tool_calls == [] and "look into it" in reply.text
    handed = await chat.say("yes please")
    assert tools(handed) == [("escalate_to_human", True)]
    assert await reasons(chat) == ["complaint"]


async def test_a_delivery_problem_looks_up_the_order_then_offers_a_person(chat: Chat) -> None:
    reply = await chat.say("my parcel #1002 arrived damaged, ada@example.com")
    assert tools(reply) == [("verify_customer", True), ("get_order", True)]
    assert "Order #1002" in reply.text and "put it right" in reply.text
    handed = await chat.say("yes")
    assert tools(handed) == [("escalate_to_human", True)] and handed.owner == "queued"


@pytest.mark.parametrize(
    ("text", "offer", "yes", "done"),
    [
        (
            "¿Dónde está mi pedido? Lo compré hace una semana",
            "ponga en contacto",
            "sí",
            "He pasado",
        ),
        ("Bonjour, où est ma commande ?", "mette en relation", "oui merci", "J'ai transmis"),
        ("Wo ist meine Bestellung? Ich warte seit Tagen", "verbinden", "ja bitte", "übergeben"),
        ("Ciao, dov'è il mio ordine?", "contatto", "sì", "Ho passato"),
        ("Olá, onde está a minha encomenda?", "contacto", "sim", "Passei"),
    ],
)
async def test_another_language_gets_its_own_reply_and_the_offer_works(
    chat: Chat, text: str, offer: str, yes: str, done: str
) -> None:
    reply = await chat.say(text)
    assert reply.tool_calls == [] and offer in reply.text
    assert "couldn't find" not in reply.text
    handed = await chat.say(yes)
    assert tools(handed) == [("escalate_to_human", True)] and handed.owner == "queued"
    assert done in handed.text
    # when a person will reply is said in that language too, not as an English sentence
    assert "our team" not in handed.text.lower() and "right here" not in handed.text


async def test_declining_in_french_keeps_the_bot(chat: Chat) -> None:
    await chat.say("Bonjour, je voudrais retourner mes chaussures")
    reply = await chat.say("non merci")
    assert reply.tool_calls == [] and reply.owner == "bot" and "D'accord" in reply.text


@pytest.fixture
async def chat(make_services: Any) -> Chat:
    return Chat(await make_services())


@pytest.mark.parametrize(
    "text",
    [
        "you billed me two times for my last order",
        "there's a payment on my bank statement from you that I don't recognise",
        "I got double charged yesterday",
        "the total you took from my card was higher than at checkout",
    ],
)
async def test_a_questioned_charge_is_offered_a_person_who_checks_the_payment(
    chat: Chat, text: str
) -> None:
    reply = await chat.say(text)
    assert [name for name, _ in tools(reply)] in ([], ["search_help_center"])
    assert "look at the payment on your order" in reply.text
    handed = await chat.say("yes please")
    assert tools(handed) == [("escalate_to_human", True)] and handed.owner == "queued"
    async with chat.services.sessions() as session:
        tickets = list(await session.scalars(select(Escalation)))
    assert len(tickets) == 1 and f"The customer questions a charge: {text!r}." in tickets[0].summary
    # triaged on what the customer asked, not on the "yes please" that accepted the offer
    assert tickets[0].category == "payment_billing"


@pytest.mark.parametrize(
    "text", ["what payment methods do you accept?", "when is my card charged?"]
)
async def test_a_question_about_paying_gets_the_help_center_and_no_offer(
    chat: Chat, text: str
) -> None:
    reply = await chat.say(text)
    # a question whether a way of paying is accepted that the help center cannot answer
    # searches once more, for the list of accepted methods (this shop has no help center)
    assert {name for name, _ in tools(reply)} == {"search_help_center"}
    assert "look at the payment" not in reply.text and "couldn't find" in reply.text
