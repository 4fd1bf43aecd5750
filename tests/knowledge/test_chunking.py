from __future__ import annotations

from knowledge.chunking import chunk_markdown, content_hash, markdown_title

DOC = """# Returns Policy

Intro paragraph about returns.

## The 30-day window

You have 30 days from delivery.

### Gifts

Gift returns get store credit.

## Final sale

Clearance, underwear and socks, gift cards.
"""


def chunks(text: str = DOC, **kwargs: int):  # type: ignore[no-untyped-def]
    return chunk_markdown(
        text, doc_id="returns.md", source="returns.md", fallback_title="Returns", **kwargs
    )


def test_title_is_first_h1_and_heading_paths_exclude_it() -> None:
    result = chunks()
    assert {c.title for c in result} == {"Returns Policy"}
    assert [c.heading for c in result] == [
        "",
        "The 30-day window",
        "The 30-day window > Gifts",
        "Final sale",
    ]
    assert result[0].text == "Intro paragraph about returns."


def test_title_falls_back_to_the_file_stem() -> None:
    result = chunk_markdown(
        "## Only a section\n\nBody.", doc_id="a.md", source="a.md", fallback_title="Shipping rates"
    )
    assert result[0].title == "Shipping rates"
    assert result[0].heading == "Only a section"
    assert markdown_title("no heading here") is None


def test_ids_are_document_id_plus_index_and_stable() -> None:
    first, second = chunks(), chunks()
    assert [c.id for c in first] == [f"returns.md#{i}" for i in range(len(first))]
    assert first == second
    assert content_hash(DOC) == content_hash(DOC + "\n\n")
    assert content_hash(DOC) != content_hash(DOC.replace("30 days", "45 days"))


def test_long_sections_respect_the_size_limit_with_overlap() -> None:
    sentences = " ".join(
        f"Sentence number {i} talks about hiking boots and sizes." for i in range(80)
    )
    result = chunks(f"# Boots\n\n## Fit\n\n{sentences}", max_chars=300, overlap=60)
    assert len(result) > 5
    assert all(len(c.text) <= 300 for c in result)
    assert all(c.heading == "Fit" for c in result)
    for before, after in zip(result, result[1:], strict=False):
        # each piece starts with words from the end of the one before
        assert after.text.split()[0] in before.text[-80:]


def test_unbreakable_tokens_are_hard_wrapped() -> None:
    result = chunks("# T\n\n" + "x" * 1000, max_chars=200, overlap=20)
    assert all(len(c.text) <= 200 for c in result)
    assert "".join(c.text.replace(" ", "") for c in result).count("x") >= 1000


def test_hashes_inside_code_fences_are_not_headings() -> None:
    text = "# Title\n\n## Real\n\n```\n# not a heading\n```\n"
    result = chunks(text)
    assert [c.heading for c in result] == ["Real"]
    assert "# not a heading" in result[0].text


def test_embed_text_carries_title_and_heading() -> None:
    chunk = chunks()[1]
    assert chunk.embed_text.startswith("Returns Policy > The 30-day window\n")
