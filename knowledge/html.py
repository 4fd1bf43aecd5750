"""HTML to Markdown: the page's main content only, without anything a reader cannot see.

Navigation, headers, footers, forms, scripts and styles are dropped, and so is hidden text
(`hidden`, `aria-hidden`, `display:none`, `visibility:hidden`, zero size or opacity, text the same
colour as its background, and classes a page's own stylesheet hides), because hidden text is the
usual way to slip instructions to an agent past a merchant's eyes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, Tag
from bs4.element import CData, ProcessingInstruction

from knowledge.untrusted import strip_invisible

_DROP_TAGS = [
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "nav", "aside", "form", "button", "select", "input", "textarea", "label",
    "dialog", "menu", "head", "link", "meta",
]  # fmt: skip
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "dialog", "menu"}
_HIDDEN_CLASSES = {
    "hidden",
    "d-none",
    "is-hidden",
    "visually-hidden",
    "sr-only",
    "screen-reader-text",
}
_BLOCKS = {
    "p", "div", "section", "article", "main", "blockquote", "pre", "figure", "figcaption", "dl",
    "dt", "dd", "address", "details", "summary", "body", "header", "footer", "hgroup",
}  # fmt: skip
_WHITE = {"#fff", "#ffffff", "white", "rgb(255,255,255)", "rgba(255,255,255,1)", "#fefefe"}
_NOT_TEXT = (Comment, Declaration, Doctype, CData, ProcessingInstruction)
_STYLE_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")


@dataclass(frozen=True)
class HtmlPage:
    title: str | None
    markdown: str
    links: list[str]  # hrefs as written, in order
    noindex: bool  # <meta name="robots" content="noindex">


def html_to_markdown(html: str | bytes) -> HtmlPage:
    """Parse a page and render its main, visible content as Markdown."""
    soup = BeautifulSoup(html, "html.parser")
    noindex = _noindex(soup)
    page_title = soup.title.get_text(" ", strip=True) if soup.title else None
    hidden_classes = _HIDDEN_CLASSES | _classes_hidden_by_stylesheets(soup)
    links = [str(a.get("href")) for a in soup.find_all("a", href=True)]

    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(["header", "footer"]):
        # a page's header and footer are chrome; an article's own header holds its title
        if not tag.decomposed and tag.find_parent(["main", "article"]) is None:
            tag.decompose()
    for tag in soup.find_all(True):
        if not tag.decomposed and _is_hidden(tag, hidden_classes):
            tag.decompose()

    root = _main_content(soup)
    lines: list[str] = []
    _render(root, lines)
    markdown = strip_invisible(_tidy("\n".join(lines)))
    h1 = root.find("h1") if isinstance(root, Tag) else None
    title = h1.get_text(" ", strip=True) if isinstance(h1, Tag) else page_title
    if title and not markdown.lstrip().startswith("# "):
        markdown = f"# {title}\n\n{markdown}"
    return HtmlPage(title=title or None, markdown=markdown, links=links, noindex=noindex)


def _noindex(soup: BeautifulSoup) -> bool:
    for meta in soup.find_all("meta", attrs={"name": re.compile("^robots$", re.I)}):
        if "noindex" in str(meta.get("content", "")).lower():
            return True
    return False


def _declarations(style: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in style.split(";"):
        name, _, value = part.partition(":")
        if value:
            out[name.strip().lower()] = re.sub(r"\s+", "", value.strip().lower())
    return out


def _hides(decl: dict[str, str]) -> bool:
    value = decl.get
    if value("display", "").startswith("none") or value("visibility", "") in {"hidden", "collapse"}:
        return True
    if value("font-size", "") in {"0", "0px", "0em", "0rem", "0%"}:
        return True
    if value("opacity", "1") in {"0", "0.0", "0%"}:
        return True
    if value("height", "") in {"0", "0px"} and value("overflow", "") == "hidden":
        return True
    if any(
        value(side, "").startswith("-") and len(value(side, "")) >= 6
        for side in ("left", "text-indent", "margin-left")
    ):  # e.g. left:-9999px
        return True
    color = value("color", "")
    background = value("background-color", value("background", ""))
    if color in _WHITE and (not background or background in _WHITE):
        return True  # white text on the (white) page
    return bool(color) and color == background


def _classes_hidden_by_stylesheets(soup: BeautifulSoup) -> set[str]:
    hidden: set[str] = set()
    for style in soup.find_all("style"):
        for selectors, body in _STYLE_RULE.findall(style.get_text()):
            if not _hides(_declarations(body)):
                continue
            for selector in selectors.split(","):
                match = re.fullmatch(r"\s*\.([\w-]+)\s*", selector)
                if match:
                    hidden.add(match.group(1))
    return hidden


def _is_hidden(tag: Tag, hidden_classes: set[str]) -> bool:
    if tag.attrs is None:
        return False
    if tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).lower() == "true":
        return True
    if str(tag.get("role", "")).lower() in _DROP_ROLES:
        return True
    classes = tag.get("class") or []
    if any(name in hidden_classes for name in classes):
        return True
    style = tag.get("style")
    return bool(style) and _hides(_declarations(str(style)))


def _main_content(soup: BeautifulSoup) -> Tag:
    for candidate in (soup.find("main"), soup.find(attrs={"role": "main"})):
        if isinstance(candidate, Tag):
            return candidate
    articles = [a for a in soup.find_all("article") if isinstance(a, Tag)]
    if articles:
        return max(articles, key=lambda a: len(a.get_text(" ", strip=True)))
    return soup.body if isinstance(soup.body, Tag) else soup


def _render(node: Tag, lines: list[str]) -> None:
    for child in node.children:
        if isinstance(child, _NOT_TEXT):
            continue
        if isinstance(child, NavigableString):
            text = str(child)
            if text.strip():
                _append_inline(lines, text)
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name and re.fullmatch(r"h[1-6]", name):
            text = child.get_text(" ", strip=True)
            if text:
                lines.extend(["", f"{'#' * int(name[1])} {text}", ""])
        elif name == "li":
            lines.extend(["", f"- {child.get_text(' ', strip=True)}"])
        elif name == "tr":
            cells = [c.get_text(" ", strip=True) for c in child.find_all(["th", "td"])]
            if any(cells):
                lines.extend(["", " | ".join(cells)])
        elif name == "br":
            lines.append("")
        elif name in _BLOCKS or name in {"ul", "ol", "table", "thead", "tbody", "tfoot"}:
            lines.append("")
            _render(child, lines)
            lines.append("")
        else:  # inline element: a, strong, em, span, code...
            _append_inline(lines, child.get_text(" "))


def _append_inline(lines: list[str], text: str) -> None:
    text = re.sub(r"\s+", " ", text)
    if lines and lines[-1]:
        lines[-1] = f"{lines[-1]}{text}"
    else:
        lines.append(text.lstrip())


def _tidy(text: str) -> str:
    out: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"[ \t]+", " ", line).strip()
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
