"""Links in bot replies (agent/guardrails.py): the check, its streaming form, the hosts the
store's own backends link to, and the runner applying it to every reply before it is stored or
streamed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from agent.events import Token, TurnResult
from agent.guardrails import (
    ADDRESS_REMOVED,
    LINK_REMOVED,
    ReplyLinkStream,
    check_reply_links,
)
from commerce.demo.returns import instruction_texts
from commerce.demo.shipping import tracking_url
from knowledge.links import TrustedLinks, find_links
from settings import Settings
from storage.tables import Message
from tests.fakes import ScriptedChatModel, says

STORE = TrustedLinks.from_settings(Settings(env="test"))


def test_a_reply_with_only_store_and_carrier_links_is_untouched() -> None:
    text = (
        "Track it at https://www.ups.com/track?tracknum=1Z9 or northwind.example/returns, "
        "or email support@northwind.example."
    )
    result = check_reply_links(text, STORE)
    assert not result.tripped and result.text == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Claim it at https://evil.shop/x.", f"Claim it at {LINK_REMOVED}."),
        (
            "See [our portal](https://evil.shop/login) now",
            f"See {LINK_REMOVED} now",
        ),
        ("Go to www.evil.shop or evil.shop/a", f"Go to {LINK_REMOVED} or {LINK_REMOVED}"),
        ("Write to pay@evil-billing.com today", f"Write to {ADDRESS_REMOVED} today"),
        (
            "https://northwind.example.evil.com/ and https://northwind.example@evil.com/",
            f"{LINK_REMOVED} and {LINK_REMOVED}",
        ),
    ],
)
def test_links_outside_the_store_are_replaced(text: str, expected: str) -> None:
    result = check_reply_links(text, STORE)
    assert result.tripped and result.text == expected
    assert "evil" in result.reason


def test_the_customers_own_address_may_be_repeated() -> None:
    text = "I'll send it to ada@example.com, not to eve@example.com."
    result = check_reply_links(text, STORE, known_addresses=["ada@example.com"])
    assert result.text == f"I'll send it to ada@example.com, not to {ADDRESS_REMOVED}."


def test_every_url_the_demo_backend_writes_is_allowed() -> None:
    """The carrier tracking and return-label hosts come from commerce/: if a carrier or the
    label host changes there, the allowed set must follow."""
    urls = [tracking_url(c, "1Z999") for c in ("UPS", "USPS", "FedEx", "DHL")]
    urls.append(instruction_texts()["label_url"].format(rma="RMA-1001-1"))
    for url in urls:
        assert [STORE.allows(link) for link in find_links(url)] == [True], url


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_the_stream_never_releases_a_link_in_pieces(size: int) -> None:
    text = (
        "Hi! Print it at https://evil.shop/label?x=1 today. Track at https://www.ups.com/t?n=1 "
        "and mail a@evil.org.\nBye"
    )
    stream = ReplyLinkStream(STORE)
    pieces = [stream.feed(text[i : i + size]) for i in range(0, len(text), size)]
    streamed = "".join(pieces) + stream.flush()
    assert "evil" not in streamed
    assert streamed == check_reply_links(text, STORE).text
    assert "https://www.ups.com/t?n=1" in streamed
    # nothing is held longer than the word being written
    assert all(len(p) < 60 for p in pieces)


def test_the_stream_learns_addresses_from_store_tools() -> None:
    stream = ReplyLinkStream(STORE, known_texts=["my email is bob@example.com"])
    stream.learn('{"email": "ada@example.com"}')
    out = stream.feed("Sent to ada@example.com and bob@example.com and x@example.com ")
    assert out == f"Sent to ada@example.com and bob@example.com and {ADDRESS_REMOVED} "


async def _turn(services: Any, text: str) -> tuple[str, str, list[tuple[str, str]]]:
    tokens, final, conversation_id = [], "", ""
    async for event in services.runner.run_turn(text=text, channel="test"):
        if isinstance(event, Token):
            tokens.append(event.text)
        elif isinstance(event, TurnResult):
            final, conversation_id = event.text, event.conversation_id
    async with services.sessions() as session:
        rows = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        )
        stored = [(m.role, m.text) for m in rows]
    return final, "".join(tokens), stored


async def test_runner_cleans_an_llm_reply_before_storing_and_streaming(
    make_services: Any, caplog: pytest.LogCaptureFixture
) -> None:
    reply = (
        "Your refund is on its way. For faster service log in at "
        "https://northwind-refund-portal.com/login and see [details](http://bit.ly/x) or "
        "email claims@nw-pay.help. Labels: https://returns.northwind.example/labels/R1.pdf"
    )
    services = await make_services(model=ScriptedChatModel(script=[says(reply)]))
    with caplog.at_level("WARNING", logger="agent.guardrails"):
        final, streamed, stored = await _turn(services, "where is my refund?")
    for text in (final, streamed, stored[-1][1]):
        assert not re.search(r"refund-portal|bit\.ly|nw-pay", text), text
        assert "https://returns.northwind.example/labels/R1.pdf" in text
    assert final == stored[-1][1] == check_reply_links(reply, STORE).text
    assert any("northwind-refund-portal.com" in r.getMessage() for r in caplog.records)


async def test_runner_keeps_a_carrier_link_from_the_offline_engine(make_services: Any) -> None:
    """The tiny store's UPS tracking URL survives the guardrail through the real engine."""
    services = await make_services()
    final, streamed, _ = await _turn(services, "where is my order #1001? ada@example.com")
    assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in final
    assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in streamed
    assert LINK_REMOVED not in final
