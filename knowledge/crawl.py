"""Crawl a help center by URL or sitemap with an injected `httpx.Client`.

Stays on the start URL's host, obeys robots.txt (RFC 9309: a robots.txt that answers 4xx allows
everything, one that cannot be fetched or answers 5xx disallows everything), fetches at most
`max_pages` pages, caps each response at `max_bytes`, and yields a `Skip` with the reason for every
page it could not use, so the ingester reports it and keeps what it stored before.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from knowledge.html import html_to_markdown
from knowledge.loaders import MAX_FILE_BYTES, Document, Skip, SkipDocument, load_bytes

USER_AGENT = "support-agent-kb/0.1 (+help-center ingestion)"
_NOT_PAGES = re.compile(
    r"\.(png|jpe?g|gif|svg|webp|ico|bmp|css|js|mjs|map|json|zip|gz|tgz|rar|7z|mp[34]|mov|avi"
    r"|webm|woff2?|ttf|eot|otf|exe|dmg|apk|xml|rss|atom)$",
    re.IGNORECASE,
)
_MAX_SITEMAPS = 20


class _Fetched:
    def __init__(self, url: str, status: int, content_type: str, body: bytes) -> None:
        self.url = url
        self.status = status
        self.content_type = content_type
        self.body = body


class _TooLarge(Exception):
    pass


def is_url(target: str) -> bool:
    return urlsplit(target).scheme in {"http", "https"}


def normalise_url(url: str) -> str:
    url, _ = urldefrag(url.strip())
    parts = urlsplit(url)
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


class Crawler:
    """Breadth-first crawl of one site, or the pages a sitemap lists."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        max_pages: int = 200,
        max_bytes: int = MAX_FILE_BYTES,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.client = client
        self.max_pages = max_pages
        self.max_bytes = max_bytes
        self.user_agent = user_agent

    def crawl(self, start_url: str) -> Iterator[Document | Skip]:
        start = normalise_url(start_url)
        origin = _origin(start)
        robots, robots_problem = self._robots(origin)
        if robots_problem:
            yield Skip(start, start, robots_problem, protects=origin)
            return
        queue: deque[str] = deque([start])
        queued = {start}
        follow_links = True
        sitemaps_read = 0
        pages = 0
        while queue:
            url = queue.popleft()
            if robots is not None and not robots.can_fetch(self.user_agent, url):
                yield Skip(url, url, "disallowed by robots.txt")
                continue
            if pages >= self.max_pages:
                yield Skip(url, url, f"not fetched: page limit ({self.max_pages}) reached")
                continue
            fetched = self._fetch(url)
            if isinstance(fetched, Skip):
                pages += 1
                yield fetched
                continue
            sitemap = _sitemap_urls(fetched) if sitemaps_read < _MAX_SITEMAPS else None
            if sitemap is not None:
                sitemaps_read += 1
                follow_links = False  # a sitemap says which pages there are
                for link in sitemap:
                    link = normalise_url(link)
                    if _origin(link) == origin and link not in queued:
                        queued.add(link)
                        queue.append(link)
                continue
            pages += 1
            document, links = self._document(fetched)
            yield document
            if follow_links:
                for href in links:
                    link = normalise_url(urljoin(fetched.url, href))
                    if (
                        _origin(link) == origin
                        and link not in queued
                        and not _NOT_PAGES.search(urlsplit(link).path)
                    ):
                        queued.add(link)
                        queue.append(link)

    def fetch_page(self, url: str) -> Document | Skip:
        """One page, without following its links (robots.txt still applies)."""
        url = normalise_url(url)
        robots, problem = self._robots(_origin(url))
        if problem:
            return Skip(url, url, problem)
        if robots is not None and not robots.can_fetch(self.user_agent, url):
            return Skip(url, url, "disallowed by robots.txt")
        fetched = self._fetch(url)
        return fetched if isinstance(fetched, Skip) else self._document(fetched)[0]

    def _robots(self, origin: str) -> tuple[RobotFileParser | None, str | None]:
        url = f"{origin}/robots.txt"
        try:
            response = self.client.get(
                url, headers={"User-Agent": self.user_agent}, follow_redirects=True
            )
        except httpx.TimeoutException:
            return None, "robots.txt timed out: not crawling"
        except httpx.HTTPError as exc:
            return None, f"robots.txt unreachable ({type(exc).__name__}): not crawling"
        if 400 <= response.status_code < 500:
            return None, None
        if response.status_code >= 500:
            return None, f"robots.txt answered HTTP {response.status_code}: not crawling"
        parser = RobotFileParser()
        parser.parse(response.text.splitlines())
        return parser, None

    def _fetch(self, url: str) -> _Fetched | Skip:
        try:
            with self.client.stream(
                "GET", url, headers={"User-Agent": self.user_agent}, follow_redirects=True
            ) as response:
                final = normalise_url(str(response.url))
                if _origin(final) != _origin(url):
                    return Skip(url, url, f"redirected to another site ({_origin(final)})")
                if response.status_code >= 400:
                    return Skip(url, url, f"HTTP {response.status_code}")
                body = bytearray()
                for part in response.iter_bytes():
                    body.extend(part)
                    if len(body) > self.max_bytes:
                        raise _TooLarge
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                return _Fetched(final, response.status_code, content_type.lower(), bytes(body))
        except _TooLarge:
            return Skip(url, url, f"too large (> {self.max_bytes / 1_048_576:.1f} MB)")
        except httpx.TimeoutException:
            return Skip(url, url, "timed out")
        except httpx.HTTPError as exc:
            return Skip(url, url, f"request failed ({type(exc).__name__})")

    def _document(self, fetched: _Fetched) -> tuple[Document | Skip, list[str]]:
        url, kind = fetched.url, fetched.content_type
        path_title = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or urlsplit(url).netloc
        try:
            if kind in {"text/html", "application/xhtml+xml"} or not kind:
                if b"\x00" in fetched.body[:8192]:
                    return Skip(url, url, "binary content"), []
                page = html_to_markdown(fetched.body)  # bytes: the parser finds the charset
                if page.noindex:
                    return Skip(url, url, "page asks not to be indexed (noindex)"), page.links
                if not page.markdown.strip():
                    return Skip(url, url, "no visible text"), page.links
                document = Document(
                    doc_id=url,
                    source=url,
                    title=page.title or path_title,
                    markdown=page.markdown,
                    kind="html",
                    origin=url,
                )
                return document, page.links
            suffix = {
                "application/pdf": ".pdf",
                "text/plain": ".txt",
                "text/markdown": ".md",
                "text/csv": ".csv",
            }.get(kind)
            if suffix is None:
                return Skip(url, url, f"unsupported content type {kind}"), []
            return load_bytes(
                fetched.body, suffix=suffix, doc_id=url, source=url, title=path_title, origin=url
            ), []
        except SkipDocument as exc:
            return Skip(url, url, str(exc)), []


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _sitemap_urls(fetched: _Fetched) -> list[str] | None:
    """The <loc> entries of a sitemap or sitemap index, or None when this is not a sitemap."""
    head = fetched.body[:512].lstrip()
    if "xml" not in fetched.content_type and not head.startswith(b"<?xml"):
        return None
    try:
        root = ET.fromstring(fetched.body)
    except ET.ParseError:
        return None
    tag = root.tag.rsplit("}", 1)[-1]
    if tag not in {"urlset", "sitemapindex"}:
        return None
    return [el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text]
