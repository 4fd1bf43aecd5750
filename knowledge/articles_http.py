"""GET /help/articles/{id}: a help-center article at a stable URL, the page a citation opens.

The id is the document's id (a citation's chunk id "doc#3" names it too). An article that came
from a web page redirects to that page when its host is one the store trusts (its own domain,
SUPPORT_ALLOWED_LINK_DOMAINS); otherwise the article's stored text is rendered here as HTML by
markdown_safe (every character escaped, links only to trusted hosts). Chunks flagged as trying
to instruct the agent are never served (docs/security.md), here no more than in replies."""

from __future__ import annotations

import asyncio
import html
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from knowledge.links import TrustedLinks, _host  # noqa: PLC2701
from markdown_safe import to_html
from web.errors import error_response
from web.links import public_link

router = APIRouter()

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - {store}</title>
<style>body{{font:16px/1.55 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;
color:#1f2933}}h1{{font-size:1.5rem}}a{{color:#1d4ed8}}table{{border-collapse:collapse}}
td,th{{border:1px solid #cbd2d9;padding:.25rem .5rem}}</style></head>
<body><p><a href="/">{store}</a> &rsaquo; Help center</p><h1>{title}</h1>
{body}
</body></html>
"""


def article_id(citation_id: str) -> str:
    """The document a chunk id belongs to ("returns.md#2" -> "returns.md")."""
    return citation_id.rsplit("#", 1)[0] if "#" in citation_id else citation_id


def article_url(settings: Any, citation_id: str) -> str:
    return public_link(settings, f"/help/articles/{article_id(citation_id)}")


def _chunks(knowledge: Any, doc_id: str) -> list[Any]:
    store = getattr(knowledge, "store", None)
    if store is None:  # a knowledge search with no stored documents behind it
        return []
    found = list(store.iter_chunks(where={"doc_id": doc_id}))
    return sorted(found, key=lambda c: int(c.metadata.get("index", 0)))


def _render(chunks: list[Any], trusted: TrustedLinks) -> list[str]:
    """Each chunk as HTML, its section heading (kept in metadata, not in the text) first."""
    parts: list[str] = []
    heading = ""
    for chunk in chunks:
        if (section := str(chunk.metadata.get("heading") or "")) and section != heading:
            parts.append(f"<h2><strong>{html.escape(section)}</strong></h2>")
        heading = section or heading
        parts.append(to_html(chunk.text, allow_link=lambda href: trusted.allows_host(_host(href))))
    return parts


def _services(request: Request) -> Any:
    return request.app.state.services


@router.get("/help/articles/{doc_id:path}", response_model=None)
async def article(doc_id: str, services: Annotated[Any, Depends(_services)]) -> Response:
    if len(doc_id) > 300:
        return error_response(404, "not_found", "No such article.")
    chunks = await asyncio.to_thread(_chunks, services.knowledge, doc_id)
    if not chunks:
        return error_response(404, "not_found", "No such article.")
    trusted = TrustedLinks.from_settings(services.settings)
    meta = chunks[0].metadata
    source = str(meta.get("source") or "")
    if urlsplit(source).scheme in ("http", "https") and trusted.allows_host(_host(source)):
        return RedirectResponse(source, status_code=302)
    served = [c for c in chunks if not c.metadata.get("flagged")]
    if not served:
        return error_response(404, "not_found", "No such article.")
    body = "\n".join(_render(served, trusted))
    title = str(meta.get("title") or doc_id)
    page = PAGE.format(
        title=html.escape(title), store=html.escape(services.settings.store_name), body=body
    )
    return HTMLResponse(page, headers={"Cache-Control": "public, max-age=300"})
