"""Markdown chunking by headings, with a size limit and overlap, and stable chunk ids.

Every loader turns its input into Markdown first, so this is the one chunker. A chunk keeps the
document title and its heading path ("Returns > Final-sale items") for citations, and its id is
the document id plus the chunk's index, so re-chunking unchanged text yields the same ids.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Bump when chunking changes, so stored documents re-embed on the next ingest.
CHUNKER_VERSION = "1"

DEFAULT_MAX_CHARS = 900  # MiniLM reads 256 word pieces; ~900 characters of English fits
DEFAULT_OVERLAP = 150

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_id: str
    index: int
    title: str
    heading: str  # heading path below the title, " > " separated; "" for the lead section
    text: str
    source: str

    @property
    def heading_label(self) -> str:
        """What the retriever compares a question with to judge answerability."""
        return heading_label(self.title, self.heading)

    @property
    def embed_text(self) -> str:
        """What gets embedded and keyword-indexed: the text in the context of its headings."""
        context = " > ".join(part for part in (self.title, self.heading) if part)
        return f"{context}\n{self.text}" if context else self.text


def heading_label(title: str, heading: str) -> str:
    """ "Title: heading path" (or the title alone for a lead section)."""
    title, heading = title.strip(), heading.strip()
    return f"{title}: {heading}" if heading else title


def content_hash(text: str) -> str:
    """Hash of a document's normalised text and the chunker version."""
    normalised = "\n".join(line.rstrip() for line in text.strip().splitlines())
    digest = hashlib.sha256(f"{CHUNKER_VERSION}\n{normalised}".encode())
    return digest.hexdigest()[:32]


def chunk_id(doc_id: str, index: int) -> str:
    return f"{doc_id}#{index}"


def markdown_title(text: str) -> str | None:
    """The first H1 of a Markdown text, if any (outside code fences)."""
    for level, heading, _ in _sections(text):
        if level == 1 and heading:
            return heading[-1]
    return None


def chunk_markdown(
    text: str,
    *,
    doc_id: str,
    source: str,
    fallback_title: str,
    max_chars: int = DEFAULT_MAX_CHARS,
    overlap: int = DEFAULT_OVERLAP,
) -> list[Chunk]:
    """Split Markdown into chunks of at most `max_chars` characters, one section at a time.

    The title is the first H1 (or `fallback_title`); the H1 itself is not part of heading paths.
    Long sections are split at paragraph, then sentence, then word boundaries, and each piece
    after the first starts with up to `overlap` characters from the end of the one before.
    """
    if overlap >= max_chars:
        raise ValueError("overlap must be smaller than max_chars")
    title = markdown_title(text) or fallback_title
    chunks: list[Chunk] = []
    for _, path, body in _sections(text):
        if path and path[0] == title:
            path = path[1:]
        heading = " > ".join(path)
        for piece in _split(body, max_chars=max_chars, overlap=overlap):
            index = len(chunks)
            chunks.append(
                Chunk(
                    id=chunk_id(doc_id, index),
                    doc_id=doc_id,
                    index=index,
                    title=title,
                    heading=heading,
                    text=piece,
                    source=source,
                )
            )
    return chunks


def _sections(text: str) -> list[tuple[int, list[str], str]]:
    """(level, heading path, body) for each section; level 0 for text before any heading."""
    sections: list[tuple[int, list[str], str]] = []
    stack: list[tuple[int, str]] = []
    level = 0
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        sections.append((level, [name for _, name in stack], "\n".join(body).strip()))

    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            body.append(line)
            continue
        flush()
        body = []
        level = len(match.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, match.group(2).strip()))
    flush()
    return [section for section in sections if section[2] or section[0] == 1]


def _split(body: str, *, max_chars: int, overlap: int) -> list[str]:
    if not body:
        return []
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", body):
        paragraph = paragraph.strip()
        if paragraph:
            units.extend(_fit(paragraph, max_chars - overlap - 1))
    pieces: list[str] = []
    current = ""
    for unit in units:
        if not current:
            current = unit
        elif len(current) + 2 + len(unit) <= max_chars:
            current = f"{current}\n\n{unit}"
        else:
            pieces.append(current)
            tail = _tail(current, overlap)
            current = f"{tail} {unit}" if tail else unit
    if current:
        pieces.append(current)
    return pieces


def _fit(paragraph: str, limit: int) -> list[str]:
    """Split a paragraph longer than `limit` at sentence, then word boundaries."""
    if len(paragraph) <= limit:
        return [paragraph]
    out: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        for word_run in _hard_wrap(sentence, limit):
            if current and len(current) + 1 + len(word_run) > limit:
                out.append(current)
                current = word_run
            else:
                current = f"{current} {word_run}" if current else word_run
    if current:
        out.append(current)
    return out


def _hard_wrap(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    out: list[str] = []
    current = ""
    for word in sentence.split():
        while len(word) > limit:  # a token with no spaces (a URL, a hash) longer than a chunk
            if current:
                out.append(current)
                current = ""
            out.append(word[:limit])
            word = word[limit:]
        if current and len(current) + 1 + len(word) > limit:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        out.append(current)
    return out


def _tail(text: str, overlap: int) -> str:
    """The last `overlap` characters of `text`, starting at a word boundary."""
    if overlap <= 0 or len(text) <= overlap:
        return "" if overlap <= 0 else text
    tail = text[-overlap:]
    space = tail.find(" ")
    return tail[space + 1 :] if 0 <= space < len(tail) - 1 else tail
