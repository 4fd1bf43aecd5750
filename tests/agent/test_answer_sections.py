"""Which section of the demo help center the offline engine quotes, through the whole runner
(search_help_center, then agent/local/passages.py): the section that answers the customer's
complaint, not a neighbour that shares a word of the story around it (issue #10)."""

from __future__ import annotations

from typing import Any

import pytest

from channels.summary import collect
from knowledge.base import build_knowledge_base
from settings import Settings


@pytest.fixture(scope="module")
def demo_knowledge(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Any:
    """The demo help center, ingested once for this module's tests (they only search it)."""
    kb = build_knowledge_base(
        Settings(env="test", data_dir=tmp_path_factory.mktemp("kb")), embedder
    )
    report = kb.ensure_demo()
    assert report is not None and not report.skipped
    return kb


@pytest.fixture
async def services(demo_knowledge: Any, make_services: Any) -> Any:
    return await make_services(knowledge=demo_knowledge)


async def _reply(services: Any, text: str) -> Any:
    """One turn of a new conversation through the whole runner."""
    return await collect(services.runner.run_turn(text=text, channel="test", conversation_id=None))


async def test_a_wrong_item_gets_the_wrong_item_section_not_the_final_sale_one(
    services: Any,
) -> None:
    # "If we sent the wrong item, ..." opens on the very condition the customer states: it is
    # the section's rule for this question, not an exception to it; the final-sale section only
    # shares "socks", the item that came
    result = await _reply(
        services, "you sent me the wrong item!! I ordered a jacket and got a pair of socks"
    )
    assert [t.name for t in result.tool_calls] == ["search_help_center"]
    assert "Wrong or missing item" in result.text  # the source line names the section
    assert "photo of what you received" in result.text
    assert "prepaid label" in result.text
    assert "final sale" not in result.text.lower()


async def test_a_mailing_list_request_gets_the_marketing_emails_section(services: Any) -> None:
    # "mailing list" shares no word with "Marketing emails" and embeds nearer to account
    # deletion; the shipped synonym group (knowledge/synonyms.txt) joins the two phrases
    result = await _reply(services, "please remove me from your mailing list")
    assert [t.name for t in result.tool_calls] == ["search_help_center"]
    assert "Marketing emails" in result.text
    assert "Unsubscribe" in result.text
    assert "Delete my account" not in result.text
