"""The packaged demo help center is a placeholder: the store's own help center, ingested beside
it, replaces it, so a merchant's customers never get Northwind's policies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge.base import KnowledgeBase, demo_help_center
from tests.knowledge.conftest import write


def demo_docs() -> set[str]:
    return {p.name for p in demo_help_center().glob("*.md")}


def test_the_stores_own_help_center_replaces_the_demos(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    kb = make_kb()
    assert kb.ensure_demo() is not None
    assert {d.doc_id for d in kb.documents()} == demo_docs()
    write(
        tmp_path / "help" / "our-returns.md",
        "# Returns\n\n## Window\n\nYou can return anything within 60 days for store credit.",
    )
    report = kb.ingest([tmp_path / "help"])
    assert report.demo_removed == len(demo_docs())
    assert [d.doc_id for d in kb.documents()] == ["our-returns.md"]
    result = kb.search("how long do I have to send something back?", k=4)
    assert result.passages and all("60 days" in p.text for p in result.passages)
    # the demo is not added back on the next start with --demo: the store is not empty
    assert kb.ensure_demo() is None


def test_an_upload_or_the_demo_itself_leaves_the_demo_in_place(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_kb()
    kb.ensure_demo()
    # staff trying the console's upload on the demo add one article; nothing is retired
    report = kb.ingest_bytes("gift-wrap.md", b"# Gift wrap\n\n## Price\n\nGift wrap is $5.")
    assert report.demo_removed == 0
    assert {d.doc_id for d in kb.documents()} == demo_docs() | {"gift-wrap.md"}
    # ingesting the packaged demo folder again is not "the store's own" help center
    assert kb.ingest([demo_help_center()]).demo_removed == 0
    assert demo_docs() <= {d.doc_id for d in kb.documents()}
