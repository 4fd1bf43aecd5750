"""Crawling against a real HTTP server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from knowledge.base import KnowledgeBase
from knowledge.crawl import Crawler, normalise_url
from knowledge.loaders import Document, Skip
from tests.knowledge.conftest import CountingEmbedder


def page(title: str, body: str, links: str = "") -> str:
    return (
        f"<html><head><title>{title}</title></head><body><nav>{links}</nav>"
        f"<main><h1>{title}</h1>{body}</main></body></html>"
    )


NAV = (
    '<a href="/returns">Returns</a> <a href="shipping">Shipping</a> '
    '<a href="/private/notes">Private</a> <a href="https://elsewhere.example/x">Off-site</a> '
    '<a href="/logo.png">Logo</a> <a href="/slow">Slow</a> <a href="/broken">Broken</a> '
    '<a href="#top">Top</a> <a href="mailto:help@northwind.example">Mail</a>'
)

SITE: dict[str, tuple[int, str, str]] = {
    "/robots.txt": (200, "text/plain", "User-agent: *\nDisallow: /private/\n"),
    "/": (200, "text/html", page("Help Center", "<p>Welcome to the help center.</p>", NAV)),
    "/returns": (
        200,
        "text/html; charset=utf-8",
        page("Returns", "<p>Return unworn items within 30 days of delivery.</p>", NAV),
    ),
    "/shipping": (
        200,
        "text/html",
        page("Shipping", "<p>Standard shipping is free over $75.</p>", NAV),
    ),
    "/private/notes": (200, "text/html", page("Private", "<p>Internal only.</p>")),
    "/broken": (500, "text/html", "<p>Internal Server Error</p>"),
    "/faq.txt": (200, "text/plain", "Plain text answers about gift cards."),
    "/sitemap.xml": (
        200,
        "application/xml",
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
        'sitemap/0.9"><url><loc>{base}/returns</loc></url><url><loc>{base}/faq.txt'
        "</loc></url><url><loc>https://elsewhere.example/x</loc></url></urlset>",
    ),
}


class Handler(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        Handler.requests.append(self.path)
        if self.path == "/slow":
            time.sleep(1.5)
        status, content_type, body = SITE.get(self.path, (404, "text/html", "not found"))
        data = body.replace("{base}", f"http://127.0.0.1:{self.server.server_port}").encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(0.5)) as c:
        yield c


def crawl(
    client: httpx.Client, url: str, **kwargs: int
) -> tuple[dict[str, Document], dict[str, str]]:
    docs: dict[str, Document] = {}
    skips: dict[str, str] = {}
    for item in Crawler(client, **kwargs).crawl(url):
        if isinstance(item, Skip):
            skips[item.where] = item.reason
        else:
            docs[item.doc_id] = item
    return docs, skips


def test_crawl_follows_same_host_links_and_respects_robots(site: str, client: httpx.Client) -> None:
    docs, skips = crawl(client, site)
    assert set(docs) == {f"{site}/", f"{site}/returns", f"{site}/shipping"}
    returns = docs[f"{site}/returns"]
    assert returns.kind == "html" and returns.source == f"{site}/returns"
    assert returns.markdown == "# Returns\n\nReturn unworn items within 30 days of delivery."
    assert skips == {
        f"{site}/private/notes": "disallowed by robots.txt",
        f"{site}/slow": "timed out",
        f"{site}/broken": "HTTP 500",
    }
    assert "/logo.png" not in Handler.requests and "/private/notes" not in Handler.requests


def test_crawl_stops_at_the_page_limit(site: str, client: httpx.Client) -> None:
    docs, skips = crawl(client, site, max_pages=2)
    assert len(docs) == 2
    assert sum("page limit (2) reached" in reason for reason in skips.values()) >= 2


def test_sitemap_lists_the_pages_to_fetch(site: str, client: httpx.Client) -> None:
    docs, skips = crawl(client, f"{site}/sitemap.xml")
    assert set(docs) == {f"{site}/returns", f"{site}/faq.txt"}
    assert docs[f"{site}/faq.txt"].kind == "text"
    assert skips == {}  # the off-site entry is ignored, and sitemap pages are not followed


def test_unreachable_site_is_reported(client: httpx.Client) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    docs, skips = crawl(client, f"http://127.0.0.1:{port}/help")
    assert docs == {}
    assert list(skips.values()) == ["robots.txt unreachable (ConnectError): not crawling"]


def test_normalise_url_drops_fragments_and_lowercases_the_host() -> None:
    assert normalise_url("HTTP://Example.COM#top") == "http://example.com/"
    assert normalise_url("https://a.example/x?y=1#z") == "https://a.example/x?y=1"


def test_ingesting_a_site_twice_embeds_nothing_the_second_time(
    site: str,
    client: httpx.Client,
    make_kb: Callable[..., KnowledgeBase],
    counting_embedder: CountingEmbedder,
) -> None:
    kb = make_kb()
    kb.http_client = client
    first = kb.ingest([site])
    assert (first.documents_added, first.chunks_added) == (3, 3)
    assert {where for where, _ in first.skipped} == {
        f"{site}/private/notes",
        f"{site}/slow",
        f"{site}/broken",
    }
    embedded = counting_embedder.count
    second = kb.ingest([site], prune=True)
    assert (second.documents_unchanged, second.chunks_added, second.documents_removed) == (3, 0, 0)
    assert counting_embedder.count == embedded

    result = kb.search("how long do I have to return something?", k=1)
    assert result.passages[0].source == f"{site}/returns"
