"""One function per input format, each turning raw bytes into Markdown.

A format function raises `SkipDocument(reason)` when the input is unusable: the ingester puts the
reason in its report and keeps whatever the store already had for that document.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from knowledge.untrusted import strip_invisible


class SkipDocument(Exception):
    """This input cannot be ingested; the message says why, for the report."""


QUESTION_KEYS = ("question", "q", "title", "prompt", "query")
ANSWER_KEYS = ("answer", "a", "body", "response", "content", "text")
# Other phrasings of the same question: a JSON list, or in CSV one cell split on "|" or newlines.
PHRASING_KEYS = ("questions", "phrasings", "variants", "alternate_questions", "also_asked")


@dataclass(frozen=True)
class QAEntry:
    """One answer and every way its question was phrased; `question` is the one cited."""

    question: str
    answer: str
    also: tuple[str, ...] = ()  # other phrasings, without the main one


def decode_text(raw: bytes) -> str:
    """UTF-8 text with a sanity check that it is text at all, invisible characters removed."""
    if b"\x00" in raw[:8192]:
        raise SkipDocument("binary content")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkipDocument(f"not UTF-8 text (byte {exc.start})") from None
    text = strip_invisible(text)
    if not text.strip():
        raise SkipDocument("empty")
    return text


def markdown_from_markdown(raw: bytes) -> str:
    return decode_text(raw)


def markdown_from_text(raw: bytes) -> str:
    text = decode_text(raw)
    # Plain text has no headings: keep a leading "#" from being read as one.
    return "\n".join(" " + line if line.startswith("#") else line for line in text.splitlines())


def markdown_from_html(raw: bytes) -> str:
    from knowledge.html import html_to_markdown

    page = html_to_markdown(decode_text(raw))
    if not page.markdown.strip():
        raise SkipDocument("no visible text")
    return page.markdown


def markdown_from_pdf(raw: bytes) -> str:
    """Text of every page; encrypted PDFs open only when their user password is empty."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a broken file is reported, not logged

    if not raw.lstrip().startswith(b"%PDF"):
        raise SkipDocument("not a PDF file")
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipDocument("encrypted PDF (password required)")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except SkipDocument:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        if "decrypt" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise SkipDocument("encrypted PDF (password required)") from None
        raise SkipDocument(f"corrupt PDF ({type(exc).__name__})") from None
    text = strip_invisible("\n\n".join(page for page in pages if page))
    if not text.strip():
        raise SkipDocument("no extractable text (scanned PDF?)")
    return "\n".join(" " + line if line.startswith("#") else line for line in text.splitlines())


def qa_markdown(entries: list[QAEntry] | list[tuple[str, str]]) -> str:
    """Question/answer pairs as one section per question (the main phrasing as its heading)."""
    if not entries:
        raise SkipDocument("no question/answer pairs found")
    pairs = [(e.question, e.answer) if isinstance(e, QAEntry) else e for e in entries]
    return "\n\n".join(f"## {q}\n\n{a}" for q, a in pairs)


def markdown_from_csv(raw: bytes) -> str:
    return qa_markdown(qa_from_csv(raw))


def markdown_from_json(raw: bytes) -> str:
    return qa_markdown(qa_from_json(raw))


def qa_from_csv(raw: bytes) -> list[QAEntry]:
    text = decode_text(raw)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    except csv.Error as exc:
        raise SkipDocument(f"malformed CSV ({exc})") from None
    return qa_entries(rows)


def qa_from_json(raw: bytes) -> list[QAEntry]:
    try:
        data = json.loads(decode_text(raw))
    except json.JSONDecodeError as exc:
        raise SkipDocument(f"malformed JSON (line {exc.lineno})") from None
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        data = lists[0] if len(lists) == 1 else [data]
    if not isinstance(data, list):
        raise SkipDocument("JSON is not a list of question/answer objects")
    return qa_entries([item for item in data if isinstance(item, dict)])


def qa_entries(rows: list[dict[str, Any]]) -> list[QAEntry]:
    """Entries with a question and an answer; `questions: [...]` alone also names the question
    (its first item), and any further phrasings are kept beside the main one."""
    entries: list[QAEntry] = []
    for row in rows:
        lowered = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
        question = next((lowered[k] for k in QUESTION_KEYS if lowered.get(k)), None)
        answer = next((lowered[k] for k in ANSWER_KEYS if lowered.get(k)), None)
        phrasings = [
            _clean_question(p) for key in PHRASING_KEYS for p in _phrasing_list(lowered.get(key))
        ]
        phrasings = [p for p in phrasings if p]
        main = _clean_question(question) if isinstance(question, str) else ""
        main = main or (phrasings[0] if phrasings else "")
        if not main or not isinstance(answer, str) or not answer.strip():
            continue
        also = tuple(dict.fromkeys(p for p in phrasings if p.lower() != main.lower()))
        entries.append(QAEntry(main, answer.strip(), also))
    return entries


def _clean_question(text: str) -> str:
    return " ".join(text.split()).lstrip("#").strip()


def _phrasing_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return re.split(r"\s*(?:\||\n)\s*", value)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
