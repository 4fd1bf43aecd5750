from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge.base import KnowledgeBase
from knowledge.chunking import heading_label
from tests.knowledge.conftest import CountingEmbedder, write

RETURNS = """# Returns

## Window

You have 30 days from delivery to return unworn items with tags.

## Final sale

Clearance items, underwear and socks, and gift cards cannot be returned.
"""

SHIPPING = """# Shipping

## Costs

Standard shipping is $6.95 and free on orders over $75.
"""


def help_center(root: Path) -> Path:
    write(root / "returns.md", RETURNS)
    write(root / "policies" / "shipping.md", SHIPPING)
    write(root / "notes.txt", "# not a heading\n\nGift wrapping is not offered.")
    return root


def test_second_ingest_of_unchanged_content_embeds_nothing(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase], counting_embedder: CountingEmbedder
) -> None:
    kb = make_kb()
    folder = help_center(tmp_path / "help")
    first = kb.ingest([folder])
    assert (first.documents_seen, first.documents_added, first.documents_unchanged) == (3, 3, 0)
    assert first.chunks_added == kb.count() == 4
    # each chunk once, and each distinct "title: heading" label once (answerability uses them)
    labels = {
        heading_label(c.metadata["title"], c.metadata["heading"]) for c in kb.store.iter_chunks()
    }
    assert counting_embedder.count == 4 + len(labels)
    assert len(kb.store.heading_vectors()) == 4

    embedded_before = counting_embedder.count
    again = make_kb().ingest([folder])  # a new KnowledgeBase over the same store
    assert counting_embedder.count == embedded_before
    assert (again.documents_seen, again.documents_unchanged, again.chunks_added) == (3, 3, 0)
    assert kb.count() == 4


def test_document_ids_are_relative_paths(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    kb = make_kb()
    kb.ingest([help_center(tmp_path / "help")])
    docs = {d.doc_id: d for d in kb.store.documents()}
    assert set(docs) == {"returns.md", "policies/shipping.md", "notes.txt"}
    assert docs["returns.md"].title == "Returns" and docs["returns.md"].chunks == 2
    assert docs["notes.txt"].title == "Notes"  # plain text: title from the file name


def test_changed_document_replaces_only_its_own_chunks(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase], counting_embedder: CountingEmbedder
) -> None:
    kb = make_kb()
    folder = help_center(tmp_path / "help")
    kb.ingest([folder])
    shipping_ids = {c.id for c in kb.store.iter_chunks() if c.metadata["doc_id"] != "returns.md"}

    write(folder / "returns.md", "# Returns\n\n## Window\n\nYou now have 45 days to return items.")
    before = counting_embedder.count
    report = kb.ingest([folder])
    assert (report.documents_updated, report.documents_unchanged, report.chunks_added) == (1, 2, 1)
    assert counting_embedder.texts[before:] == [
        "Returns > Window\nYou now have 45 days to return items.",
        "Returns: Window",
    ]

    returns = [c for c in kb.store.iter_chunks() if c.metadata["doc_id"] == "returns.md"]
    assert [c.id for c in returns] == ["returns.md#0"]
    assert "45 days" in returns[0].text
    others = {c.id for c in kb.store.iter_chunks() if c.metadata["doc_id"] != "returns.md"}
    assert others == shipping_ids


def test_bad_files_are_reported_and_skipped_without_losing_stored_content(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    kb = make_kb()
    folder = help_center(tmp_path / "help")
    kb.ingest([folder])
    write(folder / "empty.md", "")
    write(folder / "blank.txt", "  \n\n ")
    write(folder / "image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    write(folder / "latin1.txt", "Caf\xe9 cr\xe8me".encode("latin-1"))
    write(folder / "logo.png", b"\x89PNG\r\n")
    # the stored returns.md turns unreadable: it is reported, and its chunks stay
    write(folder / "returns.md", b"\xff\xfe\x00binary")

    report = kb.ingest([folder, tmp_path / "missing"])
    reasons = {Path(where).name: reason for where, reason in report.skipped}
    assert reasons["empty.md"] == "empty"
    assert reasons["blank.txt"] == "empty"
    assert reasons["image.md"] == "binary content"
    assert reasons["latin1.txt"].startswith("not UTF-8")
    assert reasons["logo.png"].startswith("unsupported")
    assert reasons["returns.md"] == "binary content"
    assert reasons["missing"] == "no such file or folder"
    assert report.documents_seen == 2 and report.chunks_added == 0
    assert kb.count() == 4

    pruned = kb.ingest([folder], prune=True)  # a skipped document is not pruned either
    assert pruned.documents_removed == 0 and kb.count() == 4


def test_oversized_files_are_skipped(
    tmp_path: Path, counting_embedder: CountingEmbedder, make_kb: Callable[..., KnowledgeBase]
) -> None:
    from knowledge.ingest import Ingester

    kb = make_kb()
    big = write(tmp_path / "big.md", "# Big\n\n" + "word " * 3000)
    report = Ingester(kb.store, counting_embedder, max_bytes=10_000).ingest_paths([big])
    assert [where for where, _ in report.skipped] == [str(big)]
    assert report.skipped[0][1].startswith("too large")
    assert counting_embedder.count == 0


def test_prune_removes_documents_that_are_gone(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase]
) -> None:
    kb = make_kb()
    folder = help_center(tmp_path / "help")
    kb.ingest([folder])
    (folder / "notes.txt").unlink()
    kept = kb.ingest([folder])
    assert kept.documents_removed == 0 and kb.count() == 4
    pruned = kb.ingest([folder], prune=True)
    assert pruned.documents_removed == 1 and kb.count() == 3
    assert "notes.txt" not in {d.doc_id for d in kb.store.documents()}


def test_uploaded_bytes_are_ingested_under_their_file_name(
    make_kb: Callable[..., KnowledgeBase],
) -> None:
    kb = make_kb()
    report = kb.ingest_bytes("../../Hours.md", b"# Hours\n\n## Support\n\nMonday to Friday.")
    assert (report.documents_added, report.chunks_added) == (1, 1)
    assert [d.doc_id for d in kb.documents()] == ["Hours.md"]
    bad = kb.ingest_bytes("logo.md", b"\x89PNG\x00\x00")
    assert bad.skipped == [("logo.md", "binary content")] and kb.count() == 1


def test_reindex_embeds_again_from_the_origin_files(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase], counting_embedder: CountingEmbedder
) -> None:
    kb = make_kb()
    folder = help_center(tmp_path / "help")
    kb.ingest([folder])
    kb.ingest_bytes("upload.md", b"# Upload\n\nUploaded text.")
    before = counting_embedder.count
    report = kb.reindex()
    assert report.documents_updated == 3 and report.chunks_added == 4
    chunk_texts = [t for t in counting_embedder.texts[before:] if "\n" in t]
    assert len(chunk_texts) == 4
    assert report.skipped == [("upload.md", "no origin to read again (uploaded)")]
    assert kb.count() == 5
    (folder / "notes.txt").unlink()
    gone = kb.reindex(["notes.txt"])
    assert gone.skipped[0][1].startswith("unreadable") and kb.count() == 5


def test_prune_keeps_documents_whose_whole_source_failed(
    tmp_path: Path, make_kb: Callable[..., KnowledgeBase], counting_embedder: CountingEmbedder
) -> None:
    from knowledge.ingest import Ingester
    from knowledge.loaders import Document, Skip

    kb = make_kb()
    folder = help_center(tmp_path / "help")
    kb.ingest([folder])
    typo = kb.ingest([tmp_path / "hlep"], prune=True)  # a mistyped folder deletes nothing
    assert typo.documents_removed == 0 and kb.count() == 4

    site = "http://help.example"
    page = Document(
        doc_id=f"{site}/faq",
        source=f"{site}/faq",
        title="FAQ",
        markdown="# FAQ\n\nWe ship worldwide.",
        kind="html",
        origin=f"{site}/faq",
    )
    ingester = Ingester(kb.store, counting_embedder)
    ingester.ingest_documents([page])
    down = Skip(site + "/", site + "/", "robots.txt timed out: not crawling", protects=site)
    report = ingester.ingest_documents([down], prune=True)
    assert {d.doc_id for d in kb.documents()} == {f"{site}/faq"}  # files pruned, site kept
    assert report.documents_removed == 3
