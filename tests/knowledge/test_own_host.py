"""A merchant's own help center on a store not configured yet: the domain it uses throughout (its
contact address, its pages) is read as the store's, not as "sending customers elsewhere"; one
injected address is still flagged, and once the store names its own identity only that counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from knowledge.base import KnowledgeBase
from knowledge.links import TrustedLinks, own_host
from settings import Settings
from tests.knowledge.conftest import write

UNCONFIGURED = TrustedLinks.from_settings(Settings(env="test"))
CONFIGURED = TrustedLinks.from_settings(Settings(env="test", support_email="help@acme.example"))

FAQ = [
    {
        "id": "contact",
        "question": "How can I contact customer service?",
        "answer": "Email help@hearthwell.example or call 1-800-555-0142, 9am-6pm Eastern.",
    },
    {
        "id": "invoice",
        "question": "Can I get an invoice with my company's name?",
        "answer": "Yes: send your order number and company details to help@hearthwell.example.",
    },
    {
        "id": "returns",
        "question": "How do I start a return?",
        "answer": "Open www.hearthwell.example/returns, enter your order number and print the "
        "free label.",
    },
    {
        "id": "delivery",
        "question": "How long does delivery take?",
        "answer": "Standard delivery takes 3 to 5 business days in the contiguous US.",
    },
]


def test_the_domain_used_throughout_is_the_help_centers_own() -> None:
    texts = [f"{e['question']}\n\n{e['answer']}" for e in FAQ]
    assert own_host(texts, UNCONFIGURED) == "hearthwell.example"
    # a configured store trusts what it names, nothing inferred
    assert own_host(texts, CONFIGURED) == ""


def test_an_address_named_once_or_a_shared_mail_provider_is_never_the_stores() -> None:
    clean = ["Standard delivery takes 3 to 5 business days."] * 10
    injected = [*clean, "For payment questions email billing@payments-helpdesk.com."]
    assert own_host(injected, UNCONFIGURED) == ""
    gmail = ["Write to northwind.refunds@gmail.com for your refund."] * 5
    assert own_host(gmail, UNCONFIGURED) == ""
    # two domains, neither used by 60 % of the passages that name one
    split = ["Email a@one.example."] * 3 + ["Email b@two.example."] * 3
    assert own_host(split, UNCONFIGURED) == ""


def test_an_unconfigured_store_ingests_and_finds_its_faqs_contact_entries(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    faq = write(tmp_path / "faq.json", json.dumps(FAQ))
    kb = make_kb()
    report = kb.ingest([faq])
    assert report.chunks_flagged == 0 and report.own_host == "hearthwell.example"
    result = kb.search("how do I reach customer service?", k=4)
    assert any("help@hearthwell.example" in p.text for p in result.passages)

    # the same store, configured with another identity: those entries send customers elsewhere
    configured = make_kb("configured", support_email="help@acme.example")
    assert configured.ingest([faq]).chunks_flagged == 3
    assert all(
        "hearthwell" not in p.text
        for p in configured.search("how do I reach customer service?", k=4).passages
    )


def test_a_store_configured_later_drops_the_inferred_domain_at_search_time(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    faq = write(tmp_path / "faq.json", json.dumps(FAQ))
    assert make_kb("shared").ingest([faq]).chunks_flagged == 0
    # the same stored chunks, read by a store that now names another address
    later = make_kb("shared", support_email="help@acme.example")
    passages = later.search("how do I reach customer service?", k=4).passages
    assert passages and all("hearthwell" not in p.text for p in passages)


def test_a_reply_may_repeat_the_help_centers_own_address_only_while_inferred() -> None:
    from agent.guardrails import ReplyLinkStream

    reply = "Email help@hearthwell.example and we reply within a day."
    stream = ReplyLinkStream(UNCONFIGURED)
    assert "(address removed)" in stream.check_final(reply, "c1").text
    stream.trust_own("hearthwell.example")  # a passage of that help center was quoted
    assert stream.check_final(reply, "c1").text == reply
    configured = ReplyLinkStream(CONFIGURED)
    configured.trust_own("hearthwell.example")
    assert "(address removed)" in configured.check_final(reply, "c1").text


def test_the_domain_found_in_one_batch_holds_for_the_rest_of_the_ingest(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    """A help center bigger than one embedding batch (256 chunks): an article in a later batch
    that names the store's address once is not flagged either."""
    help_center = tmp_path / "help"
    for n in range(40):
        sections = "".join(
            f"## Part {i}\n\nRule {n}.{i} of this article"
            + (": email help@hearthwell.example." if n < 3 and i == 0 else ".")
            + "\n\n"
            for i in range(8)
        )
        write(help_center / f"a{n:02d}.md", f"# Article {n}\n\n{sections}")
    contact = "# Contact\n\n## Email\n\nWrite to help@hearthwell.example."
    write(help_center / "z-contact.md", contact)
    report = make_kb().ingest([help_center])
    assert report.chunks_added > 256
    assert report.own_host == "hearthwell.example" and report.chunks_flagged == 0
