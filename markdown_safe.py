"""The reply format: a small, safe Markdown subset, and its two renderings.

Replies (the bot's, staff's) are written in this subset: paragraphs (single newlines are line
breaks), **bold**, *italic* or _italic_, bullet lists (`- `, `* `, `+ `, `• `), numbered lists
(`1. `, `1) `), simple tables (a `| a | b |` header line, a `| --- | --- |` line, then rows), and
links: `[text](https://...)`, `mailto:` links, and bare http(s) URLs. Nothing else is markup:
HTML, images, headings (`#` lines come out bold), code and quotes are plain text.

`to_html` renders sanitised HTML for email; `to_text` renders plain text; `widget/src/markdown.js`
implements the same grammar with DOM nodes (tests/widget checks the two agree). Safety comes from
the renderer, not from cleaning the input: every character of text is escaped, links are only
http, https or mailto, and no attribute other than href (and the fixed rel/target) is written.

Ground floor: imports no package of ours."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

# ---- the document tree ------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Break:
    pass


@dataclass(frozen=True)
class Strong:
    children: list[Inline]


@dataclass(frozen=True)
class Em:
    children: list[Inline]


@dataclass(frozen=True)
class Link:
    href: str
    children: list[Inline]


Inline = Text | Break | Strong | Em | Link


@dataclass(frozen=True)
class Paragraph:
    lines: list[str]
    heading: bool = False  # a '#' line: shown bold


@dataclass(frozen=True)
class ListBlock:
    ordered: bool
    start: int
    items: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


Block = Paragraph | ListBlock | Table

# ---- blocks -----------------------------------------------------------------------------------

_BULLET = re.compile(r"^ {0,3}[-*+•][ \t]+(.*)$")
_NUMBERED = re.compile(r"^ {0,3}([0-9]{1,9})[.)][ \t]+(.*)$")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$")
_TABLE_ROW = re.compile(r"^ {0,3}\|(.*)\|[ \t]*$")
_TABLE_RULE = re.compile(r"^ {0,3}\|(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*$")
_CONTINUATION = re.compile(r"^(?: {2,}|\t)(\S.*)$")


def _cells(row: str) -> list[str]:
    inner = _TABLE_ROW.match(row)
    body = inner.group(1) if inner else row
    cells, current, escaped = [], [], False
    for ch in body:  # a `\|` inside a cell is a literal pipe
        if escaped:
            current.append(ch if ch == "|" else "\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    cells.append(("".join(current) + ("\\" if escaped else "")).strip())
    return cells


def _list_item(line: str) -> tuple[bool, int, str] | None:
    numbered = _NUMBERED.match(line)
    if numbered:
        return True, int(numbered.group(1)), numbered.group(2).strip()
    bullet = _BULLET.match(line)
    return (False, 1, bullet.group(1).strip()) if bullet else None


def parse(text: str) -> list[Block]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    paragraph: list[str] = []
    current: ListBlock | None = None

    def close_paragraph() -> None:
        if paragraph:
            blocks.append(Paragraph(list(paragraph)))
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        item = _list_item(line)
        if not line.strip():
            close_paragraph()
            current = None
        elif _TABLE_ROW.match(line) and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            close_paragraph()
            current = None
            header = _cells(line)
            rows: list[list[str]] = []
            i += 2
            while i < len(lines) and _TABLE_ROW.match(lines[i]):
                row = _cells(lines[i])
                rows.append((row + [""] * len(header))[: len(header)])
                i += 1
            blocks.append(Table(header, rows))
            continue
        elif item is not None:
            close_paragraph()
            ordered, start, content = item
            if current is None or current.ordered != ordered:
                current = ListBlock(ordered, start)
                blocks.append(current)
            current.items.append(content)
        elif current is not None and (more := _CONTINUATION.match(line)):
            current.items[-1] = f"{current.items[-1]} {more.group(1).strip()}"
        elif heading := _HEADING.match(line):
            close_paragraph()
            current = None
            blocks.append(Paragraph([heading.group(1)], heading=True))
        else:
            current = None
            paragraph.append(line.strip())
        i += 1
    close_paragraph()
    return blocks


# ---- inline -----------------------------------------------------------------------------------

_INLINE = re.compile(
    r"\\(?P<esc>[\\`*_\[\]()#+\-.!|>~•])"
    r"|\[(?P<ltext>[^\]\n]+)\]\((?P<lurl>[^()\s]+)\)"
    r"|(?P<auto>https?://[^\s<>\"'()\[\]]*[^\s<>\"'()\[\].,;:!?*_])"
    r"|\*\*(?P<strong>[^\s*](?:[^*]*[^\s*])?)\*\*"
    r"|\*(?P<em>[^\s*](?:[^*]*[^\s*])?)\*"
    r"|_(?P<uem>[^\s_](?:[^_]*[^\s_])?)_"
)
_WORD_CHAR = re.compile(r"[A-Za-z0-9]")
_SAFE_URL = re.compile(r"^(?:https?://[^/\s]|mailto:[^\s@]+@)", re.IGNORECASE)

LinkPolicy = Callable[[str], bool]


def safe_url(url: str) -> bool:
    """http(s) with a host, or mailto: never javascript:, data:, relative or protocol-relative."""
    return bool(_SAFE_URL.match(url))


def parse_inline(text: str, *, links: bool = True) -> list[Inline]:
    out: list[Inline] = []
    pos = 0
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            out.append(Text("".join(buffer)))
            buffer.clear()

    while pos < len(text):
        m = _INLINE.search(text, pos)
        if m is None:
            buffer.append(text[pos:])
            break
        if m.group("uem") is not None and not _underscore_ok(text, m.start(), m.end()):
            buffer.append(text[pos : m.start() + 1])  # a snake_case word, not emphasis
            pos = m.start() + 1
            continue
        if (m.group("ltext") is not None or m.group("auto") is not None) and not links:
            buffer.append(text[pos : m.start() + 1])
            pos = m.start() + 1
            continue
        buffer.append(text[pos : m.start()])
        pos = m.end()
        if m.group("esc") is not None:
            buffer.append(m.group("esc"))
            continue
        flush()
        if m.group("ltext") is not None:
            out.append(Link(m.group("lurl"), parse_inline(m.group("ltext"), links=False)))
        elif m.group("auto") is not None:
            out.append(Link(m.group("auto"), [Text(m.group("auto"))]))
        elif m.group("strong") is not None:
            out.append(Strong(parse_inline(m.group("strong"), links=links)))
        else:
            inner = m.group("em") if m.group("em") is not None else m.group("uem")
            out.append(Em(parse_inline(inner, links=links)))
    flush()
    return out


def _underscore_ok(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not _WORD_CHAR.match(before) and not _WORD_CHAR.match(after)


def _lines(lines: list[str]) -> list[Inline]:
    out: list[Inline] = []
    for n, line in enumerate(lines):
        if n:
            out.append(Break())
        out.extend(parse_inline(line))
    return out


# ---- renderings -------------------------------------------------------------------------------


def _html_inline(nodes: list[Inline], allow: LinkPolicy | None) -> str:
    parts = []
    for node in nodes:
        if isinstance(node, Text):
            parts.append(html.escape(node.text, quote=False))
        elif isinstance(node, Break):
            parts.append("<br>")
        elif isinstance(node, Strong):
            parts.append(f"<strong>{_html_inline(node.children, allow)}</strong>")
        elif isinstance(node, Em):
            parts.append(f"<em>{_html_inline(node.children, allow)}</em>")
        elif _allowed(node.href, allow):
            href = html.escape(node.href, quote=True)
            inner = _html_inline(node.children, allow)
            parts.append(
                f'<a href="{href}" rel="nofollow noopener noreferrer" target="_blank">{inner}</a>'
            )
        else:
            parts.append(_html_inline(node.children, allow))
    return "".join(parts)


def _allowed(href: str, allow: LinkPolicy | None) -> bool:
    return safe_url(href) and (allow is None or allow(href))


def to_html(text: str, *, allow_link: LinkPolicy | None = None) -> str:
    """Sanitised HTML: only p, br, strong, em, ul, ol, li, table parts and a[href]."""

    def inline(source: str) -> str:
        return _html_inline(parse_inline(source), allow_link)

    out = []
    for block in parse(text):
        if isinstance(block, Paragraph):
            inner = _html_inline(_lines(block.lines), allow_link)
            out.append(f"<p><strong>{inner}</strong></p>" if block.heading else f"<p>{inner}</p>")
        elif isinstance(block, ListBlock):
            tag = "ol" if block.ordered else "ul"
            start = f' start="{block.start}"' if block.ordered and block.start != 1 else ""
            items = "".join(f"<li>{inline(i)}</li>" for i in block.items)
            out.append(f"<{tag}{start}>{items}</{tag}>")
        else:
            head = "".join(f"<th>{inline(c)}</th>" for c in block.header)
            rows = ("".join(f"<td>{inline(c)}</td>" for c in row) for row in block.rows)
            body = "".join(f"<tr>{r}</tr>" for r in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(out)


def _text_inline(nodes: list[Inline], allow: LinkPolicy | None) -> str:
    parts = []
    for node in nodes:
        if isinstance(node, Text):
            parts.append(node.text)
        elif isinstance(node, Break):
            parts.append("\n")
        elif isinstance(node, Strong | Em):
            parts.append(_text_inline(node.children, allow))
        else:
            label = _text_inline(node.children, allow)
            shown = _allowed(node.href, allow) and label != node.href
            parts.append(f"{label} ({node.href})" if shown else label)
    return "".join(parts)


def to_text(text: str, *, allow_link: LinkPolicy | None = None) -> str:
    """Plain text: markers dropped, lists as '- ' / '1. ' lines, tables as 'a | b' rows."""

    def inline(source: str) -> str:
        return _text_inline(parse_inline(source), allow_link)

    out = []
    for block in parse(text):
        if isinstance(block, Paragraph):
            out.append(_text_inline(_lines(block.lines), allow_link))
        elif isinstance(block, ListBlock):
            marks = [
                f"{block.start + n}." if block.ordered else "-" for n in range(len(block.items))
            ]
            out.append(
                "\n".join(f"{m} {inline(i)}" for m, i in zip(marks, block.items, strict=True))
            )
        else:
            rows = [block.header, *block.rows]
            out.append("\n".join(" | ".join(inline(c) for c in row) for row in rows))
    return "\n\n".join(out)


def escape(text: str) -> str:
    """Store or customer text placed inside a reply, so that it shows exactly as written."""
    escaped = re.sub(r"([\\`*_\[\]|])", r"\\\1", text)
    escaped = re.sub(r"^(\s*)([-+#>•])(?=\s)", r"\1\\\2", escaped, flags=re.MULTILINE)
    return re.sub(r"^(\s*[0-9]+)([.)])(?=\s)", r"\1\\\2", escaped, flags=re.MULTILINE)
