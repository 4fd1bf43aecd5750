"""The widened guards, without a model: off-topic by the understanding layer's out-of-scope
decision; order data read in the store's own order-number formats; another customer's email,
tracking number or street address in a reply. Then both through the model path (scripted)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from agent.guards_input import check_input, check_off_topic, safe_replies
from agent.guards_output import (
    OwnData,
    addresses_of,
    check_foreign_order_data,
    check_foreign_personal_data,
    order_numbers_in,
)
from agent.local.intent_model import OUT_OF_SCOPE
from agent.local.intents import Intent
from commerce.models import OrderNumberFormat, order_number_formats
from storage.tables import AuditEntry
from tests.agent.llm.fake_server import ScriptedOpenAI
from tests.agent.llm.test_tool_loop import VERIFY, turn

# ---- off-topic through the intent classifier ---------------------------------------------------

BEYOND_THE_WORD_LIST = [
    "Who painted the Mona Lisa?",
    "How do I change the oil in my car?",
    "Can you translate this sentence into Spanish for me",
    "What's the weather going to be like tomorrow in Paris?",
    "Help me plan a trip to Rome",
    "summarize this article for me please",
]
STORE_QUESTIONS = [
    "How long does shipping to Canada take?",
    "I want to return my shoes",
    "Do you have these boots in size 9?",
    "what are your opening hours",  # the classifier reads it out of scope; it is about the store
    "how do I wash the merino sweater",
    "the blue one please",
    "My parcel never arrived",
    "Do you sell gift cards?",
]


@pytest.mark.parametrize("text", BEYOND_THE_WORD_LIST)
def test_the_classifier_widens_the_off_topic_guard(text: str, triager: Any) -> None:
    assert not check_off_topic(text).tripped  # the fixed list alone misses it
    result = check_input(text, reading=triager.intents.classify(text))
    assert result.tripped and result.reason == "off_topic"
    assert result.text == safe_replies()["off_topic"]


@pytest.mark.parametrize("text", STORE_QUESTIONS)
def test_store_questions_pass_with_the_classifier(text: str, triager: Any) -> None:
    assert not check_off_topic(text, reading=triager.intents.classify(text)).tripped


def test_only_a_sure_out_of_scope_reading_trips() -> None:
    sure = Intent(OUT_OF_SCOPE, 0.9, runner_up=OUT_OF_SCOPE)
    assert check_off_topic("Who painted the Mona Lisa?", reading=sure).tripped
    # under the classifier's floor for lack of a better match: not a decision to refuse
    weak = Intent(OUT_OF_SCOPE, 0.19, runner_up="order_status")
    assert not check_off_topic("Who painted the Mona Lisa?", reading=weak).tripped
    unsure = Intent(OUT_OF_SCOPE, 0.4, runner_up=OUT_OF_SCOPE)
    assert not check_off_topic("Who painted the Mona Lisa?", reading=unsure).tripped
    # short answers are read in the conversation's context; a store word or an order number
    # makes it the store's business
    assert not check_off_topic("Mona Lisa", reading=sure).tripped
    assert not check_off_topic("who painted the print on order #1002", reading=sure).tripped
    assert not check_off_topic("who painted it? ada@example.com", reading=sure).tripped


async def test_the_model_path_declines_off_topic_without_calling_the_model(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    result = await turn(llm_services, "How do I change the oil in my car?")
    assert fake_openai.requests == []
    assert result.text == safe_replies()["off_topic"]
    assert await _decisions(llm_services) == ["input:off_topic"]


# ---- order numbers in the store's formats ------------------------------------------------------

LETTERED = order_number_formats(["NW-104233", "NW-104234", "NW-104301"])


def test_order_numbers_are_read_in_the_store_formats() -> None:
    assert set(order_numbers_in("Order nw 104233 and NW104234 shipped", LETTERED)) == {
        "NW-104233",
        "NW-104234",
    }
    hashed = [OrderNumberFormat(template="#{n}")]
    assert set(order_numbers_in("Your order #1002 and order 1003", hashed)) == {"#1002", "#1003"}
    suffixed = [OrderNumberFormat(template="{n}-{A}", min_digits=4, max_digits=4)]
    assert set(order_numbers_in("1043-A was delivered", suffixed)) == {"1043-A"}
    # numbers that fit none of the store's formats are not orders: a price, a year, a postcode
    assert order_numbers_in("$126.36 in 2026 to 97201", LETTERED) == {}


def test_foreign_order_data_in_a_lettered_format() -> None:
    owners = {"NW-104233": "c1", "NW-104234": "c2"}
    foreign = check_foreign_order_data(
        "Order nw-104234 was delivered to Salem.",
        verified_customer="c1",
        order_owners=owners,
        formats=LETTERED,
    )
    assert foreign.tripped and "NW-104234" in foreign.summary
    assert not check_foreign_order_data(
        "Order NW 104233 was delivered.",
        verified_customer="c1",
        order_owners=owners,
        formats=LETTERED,
    ).tripped


# ---- other customers' emails, tracking numbers, addresses ---------------------------------------

ADA = OwnData(tracking_numbers={"1Z999AA10123456784"}, streets={("1", "main")})


def test_another_customers_email_trips() -> None:
    result = check_foreign_personal_data(
        "I've sent the label to bob@example.com.", own=ADA, foreign_emails={"bob@example.com"}
    )
    assert result.tripped and result.reason == "foreign_personal_data"
    assert "bob@example.com" not in result.summary  # the audit row does not repeat it
    assert not check_foreign_personal_data(
        "I've sent the label to ada@example.com.", own=ADA, foreign_emails=set()
    ).tripped


def test_a_tracking_number_not_the_customers_trips() -> None:
    own = "Your parcel is with UPS, tracking number 1Z999AA10123456784."
    assert not check_foreign_personal_data(own, own=ADA).tripped
    other = "Your package is with USPS, tracking 9400111899223197428490."
    assert check_foreign_personal_data(other, own=ADA).reason == "foreign_personal_data"
    # one the customer typed may be repeated back; without shipping words it is not tracking
    assert not check_foreign_personal_data(
        other, own=ADA, told="is 9400111899223197428490 mine?"
    ).tripped
    assert not check_foreign_personal_data("Reference 9400111899223197428490.", own=ADA).tripped
    # nobody verified: no tracking number is anyone's to see
    assert check_foreign_personal_data(own, own=None).tripped


def test_a_street_address_not_the_customers_trips() -> None:
    assert addresses_of("From 1 Main St, Portland to 48 Birch Lane, Salem 97301") == [
        "1 Main St, Portland",
        "48 Birch Lane, Salem 97301",
    ]
    assert not check_foreign_personal_data(
        "It ships to 1 Main Street, Portland OR 97201.", own=ADA
    ).tripped
    other = "It was delivered to 48 Birch Lane, Salem 97301."
    assert check_foreign_personal_data(other, own=ADA).reason == "foreign_personal_data"
    assert not check_foreign_personal_data(
        other, own=ADA, told="please send it to 48 Birch Lane, Salem 97301"
    ).tripped
    assert check_foreign_personal_data("It ships to 1 Main St.", own=None).tripped


async def test_the_model_path_replaces_a_reply_with_another_customers_email(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    fake_openai.script = [
        {"tool_calls": [VERIFY]},
        {"text": "Thanks Ada! Your neighbour bob@example.com ordered the same boots."},
    ]
    result = await turn(llm_services, "Hi, #1002 and ada@example.com")
    fake_openai.assert_complete()
    assert result.text == safe_replies()["foreign_personal_data"]
    assert await _decisions(llm_services) == ["output:foreign_personal_data"]


async def test_the_model_path_keeps_the_customers_own_tracking_number(
    llm_services: Any, fake_openai: ScriptedOpenAI
) -> None:
    reply = "Thanks Ada! Order #1001 is with UPS, tracking number 1Z999AA10123456784."
    fake_openai.script = [{"tool_calls": [VERIFY]}, {"text": reply}]
    result = await turn(llm_services, "Hi, #1002 and ada@example.com")
    assert result.text == reply
    assert await _decisions(llm_services) == []


async def _decisions(services: Any) -> list[str]:
    async with services.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry.decision).where(AuditEntry.tool == "llm_path")
        )
        return list(rows.all())
