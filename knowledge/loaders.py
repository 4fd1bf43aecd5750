"""Find files and load them into Markdown documents, or say why a file is skipped.

Every format becomes Markdown (see `knowledge.formats`) so that one chunker handles all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from knowledge import formats
from knowledge.formats import SkipDocument

__all__ = ["LOADERS", "Document", "Skip", "SkipDocument", "iter_files", "load_bytes", "load_file"]

MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    doc_id: str
    source: str
    title: str  # fallback title when the Markdown has no H1
    markdown: str
    kind: str  # markdown, text, html, pdf, qa
    origin: str = ""  # absolute path or URL to read it again from ("" for uploads)
    # Q&A only: (question, its other phrasings) for each entry that gives several; the question
    # is the section heading, and each phrasing is embedded too so it finds the same answer.
    phrasings: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Skip:
    """An input that could not be loaded: reported, and its stored document (if any) kept."""

    doc_id: str
    where: str
    reason: str
    # A whole source failed: stored documents whose id starts with this are not pruned
    # ("" protects everything, e.g. a folder that does not exist).
    protects: str | None = None


Loader = Callable[[bytes], str]  # raw bytes -> Markdown
QALoader = Callable[[bytes], list[formats.QAEntry]]

LOADERS: dict[str, tuple[str, Loader]] = {
    ".md": ("markdown", formats.markdown_from_markdown),
    ".markdown": ("markdown", formats.markdown_from_markdown),
    ".txt": ("text", formats.markdown_from_text),
    ".html": ("html", formats.markdown_from_html),
    ".htm": ("html", formats.markdown_from_html),
    ".pdf": ("pdf", formats.markdown_from_pdf),
    ".csv": ("qa", formats.markdown_from_csv),
    ".json": ("qa", formats.markdown_from_json),
    ".jsonl": ("qa", formats.markdown_from_json_lines),
    ".ndjson": ("qa", formats.markdown_from_json_lines),
    ".yaml": ("qa", formats.markdown_from_yaml),
    ".yml": ("qa", formats.markdown_from_yaml),
}
# Q&A formats are read as entries, which keep every phrasing of a question.
QA_LOADERS: dict[str, QALoader] = {
    ".csv": formats.qa_from_csv,
    ".json": formats.qa_from_json,
    ".jsonl": formats.qa_from_json_lines,
    ".ndjson": formats.qa_from_json_lines,
    ".yaml": formats.qa_from_yaml,
    ".yml": formats.qa_from_yaml,
}


def load_bytes(
    raw: bytes, *, suffix: str, doc_id: str, source: str, title: str, origin: str = ""
) -> Document:
    """Turn raw content of a known type into a Document, or raise SkipDocument."""
    if suffix not in LOADERS:
        raise SkipDocument(f"unsupported file type {suffix or '(none)'}")
    if not raw.strip():
        raise SkipDocument("empty")
    kind, loader = LOADERS[suffix]
    phrasings: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if suffix in QA_LOADERS:
        entries = QA_LOADERS[suffix](raw)
        markdown = formats.qa_markdown(entries)
        phrasings = tuple((e.question, e.also) for e in entries if e.also)
    else:
        markdown = loader(raw)
    if not markdown.strip():
        raise SkipDocument("no text content")
    return Document(
        doc_id=doc_id,
        source=source,
        title=title,
        markdown=markdown,
        kind=kind,
        origin=origin,
        phrasings=phrasings,
    )


def load_file(path: Path, doc_id: str, *, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Read one file into a Document, or raise SkipDocument."""
    suffix = path.suffix.lower()
    if suffix not in LOADERS:
        raise SkipDocument(f"unsupported file type {suffix or '(none)'}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SkipDocument(
                f"too large ({size / 1_048_576:.1f} MB > {max_bytes / 1_048_576:.1f} MB)"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise SkipDocument(f"unreadable: {exc.strerror or exc}") from None
    return load_bytes(
        raw,
        suffix=suffix,
        doc_id=doc_id,
        source=doc_id,
        title=title_from_stem(path.stem),
        origin=str(path.resolve()),
    )


def iter_files(root: Path) -> Iterator[tuple[Path, str]]:
    """(path, doc id) for every file under `root` (or `root` itself), skipping hidden entries.

    A file's id is its path relative to the folder that was given, so the same export ingested
    again maps onto the same documents.
    """
    if root.is_file():
        yield root, root.name
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        yield path, relative.as_posix()


def title_from_stem(stem: str) -> str:
    words = stem.replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() if words else stem
