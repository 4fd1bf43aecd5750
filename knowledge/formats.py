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


def markdown_from_json_lines(raw: bytes) -> str:
    return qa_markdown(qa_from_json_lines(raw))


def markdown_from_yaml(raw: bytes) -> str:
    return qa_markdown(qa_from_yaml(raw))


def qa_from_csv(raw: bytes) -> list[QAEntry]:
    text = decode_text(raw)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
        entries = qa_entries(rows) or _headerless_csv(text, dialect)
    except csv.Error as exc:
        raise SkipDocument(f"malformed CSV ({exc})") from None
    return entries


def _headerless_csv(text: str, dialect: Any) -> list[QAEntry]:
    """Two columns and no header row: read as question, answer when most first cells are
    questions (end with "?"), so a price list is never taken for a FAQ."""
    rows = [
        r for r in csv.reader(io.StringIO(text), dialect=dialect) if len(r) >= 2 and r[0].strip()
    ]
    if not rows or sum(r[0].strip().endswith("?") for r in rows) * 2 < len(rows):
        return []
    return qa_entries([{"question": r[0], "answer": r[1]} for r in rows])


def qa_from_json(raw: bytes) -> list[QAEntry]:
    try:
        data = json.loads(decode_text(raw))
    except json.JSONDecodeError as exc:
        raise SkipDocument(f"malformed JSON (line {exc.lineno})") from None
    return _qa_from_data(data, "JSON")


def qa_from_json_lines(raw: bytes) -> list[QAEntry]:
    """One JSON object per line (.jsonl, .ndjson); blank lines are skipped."""
    items: list[Any] = []
    for n, line in enumerate(decode_text(raw).splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError:
            raise SkipDocument(f"malformed JSON (line {n})") from None
    return _qa_from_data(items, "JSON lines")


def qa_from_yaml(raw: bytes) -> list[QAEntry]:
    import yaml

    try:
        data = yaml.safe_load(decode_text(raw))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SkipDocument(f"malformed YAML{where}") from None
    return _qa_from_data(data, "YAML")


def _qa_from_data(data: Any, what: str) -> list[QAEntry]:
    """The question/answer objects anywhere in a parsed document: a list of them, a list under
    one key ({"faq": [...]}), or lists nested in categories ({"categories": [{"name": ...,
    "questions": [...]}]}), as FAQ apps and help desks export them."""
    if not isinstance(data, (list, dict)):
        raise SkipDocument(f"{what} is not a list of question/answer objects")
    rows: list[dict[str, Any]] = []
    _collect_rows(data, rows, depth=0)
    return qa_entries(rows)


def _collect_rows(node: Any, rows: list[dict[str, Any]], depth: int) -> None:
    if depth > 6:
        return
    if isinstance(node, list):
        for item in node:
            _collect_rows(item, rows, depth + 1)
    elif isinstance(node, dict):
        if _has_question_and_answer(node):
            rows.append(node)
            return
        for value in node.values():
            if isinstance(value, (list, dict)):
                _collect_rows(value, rows, depth + 1)


def qa_entries(rows: list[dict[str, Any]]) -> list[QAEntry]:
    """Entries with a question and an answer; `questions: [...]` alone also names the question
    (its first item), and any further phrasings are kept beside the main one. Column names are
    read loosely ("Question", "FAQ question", "answer_html"), and an answer written in HTML is
    turned into Markdown."""
    entries: list[QAEntry] = []
    for row in rows:
        fields = _fields(row)
        question = fields.get("question")
        answer = fields.get("answer")
        phrasings = [_clean_question(p) for p in _phrasing_list(fields.get("phrasings"))]
        phrasings = [p for p in phrasings if p]
        main = _clean_question(question) if isinstance(question, str) else ""
        main = main or (phrasings[0] if phrasings else "")
        if isinstance(answer, str) and _HTML_TAG.search(answer):
            answer = _answer_from_html(answer)
        if not main or not isinstance(answer, str) or not answer.strip():
            continue
        also = tuple(dict.fromkeys(p for p in phrasings if p.lower() != main.lower()))
        entries.append(QAEntry(main, answer.strip(), also))
    return entries


_HTML_TAG = re.compile(
    r"</?(?:p|br|ul|ol|li|a|strong|em|b|i|u|div|span|table|tr|td|th|h[1-6])\b[^>]*>", re.I
)


def _key(name: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    """A row's question, answer and other phrasings under those three names: the usual column
    names first, then any column whose name holds "question" or "answer"."""
    keyed = {_key(k): v for k, v in row.items() if k is not None and v not in (None, "")}
    found: dict[str, Any] = {}
    for role, keys, part in (
        ("phrasings", PHRASING_KEYS, None),
        ("question", QUESTION_KEYS, "question"),
        ("answer", ANSWER_KEYS, "answer"),
    ):
        value = next((keyed[k] for k in keys if k in keyed), None)
        if value is None and part:
            value = next(
                (
                    v
                    for k, v in keyed.items()
                    if part in k.split("_") and k not in PHRASING_KEYS and isinstance(v, str)
                ),
                None,
            )
        if value is not None:
            found[role] = value
    return found


def _has_question_and_answer(row: dict[str, Any]) -> bool:
    fields = _fields(row)
    return isinstance(fields.get("answer"), str) and (
        isinstance(fields.get("question"), str) or bool(fields.get("phrasings"))
    )


def _answer_from_html(answer: str) -> str:
    from knowledge.html import html_to_markdown

    return html_to_markdown(f"<html><body><main>{answer}</main></body></html>").markdown.strip()


def _clean_question(text: str) -> str:
    return " ".join(text.split()).lstrip("#").strip()


def _phrasing_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return re.split(r"\s*(?:\||\n)\s*", value)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
