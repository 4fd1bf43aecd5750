"""widget.js / widget.css: gzip when accepted, ETag and If-None-Match -> 304, Cache-Control;
and a favicon instead of a 404."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

import widget
from settings import Settings
from tests.channels.widget_client import widget_client


@pytest.fixture
def client(settings: Settings, embedder: Any, triager: Any) -> Iterator[TestClient]:
    with widget_client(settings, embedder, triager) as test_client:
        yield test_client


def raw(client: TestClient, path: str, **headers: str) -> tuple[Any, bytes]:
    """The response and its bytes as sent (httpx would decompress them)."""
    with client.stream("GET", path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


@pytest.mark.parametrize(
    ("path", "expected", "media"),
    [
        ("/widget.js", widget.bundle, "text/javascript"),
        ("/widget.css", lambda: widget.asset("widget.css"), "text/css"),
    ],
)
def test_assets_are_gzipped_and_revalidate_with_a_304(
    client: TestClient, path: str, expected: Any, media: str
) -> None:
    original = expected()
    zipped_response, zipped = raw(client, path, **{"Accept-Encoding": "gzip, deflate, br"})
    assert zipped_response.status_code == 200
    assert zipped_response.headers["content-encoding"] == "gzip"
    assert zipped_response.headers["content-type"].startswith(media)
    assert gzip.decompress(zipped) == original and len(zipped) < len(original) / 2
    assert zipped_response.headers["vary"] == "Accept-Encoding"
    assert zipped_response.headers["cache-control"] == "public, max-age=300"
    etag = zipped_response.headers["etag"]

    plain_response, plain = raw(client, path, **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain_response.headers and plain == original
    assert plain_response.headers["etag"] == etag  # one validator for the one content

    refused, _ = raw(client, path, **{"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers

    again, body = raw(client, path, **{"If-None-Match": etag, "Accept-Encoding": "gzip"})
    assert again.status_code == 304 and body == b"" and again.headers["etag"] == etag
    weak, _ = raw(client, path, **{"If-None-Match": f'"old", W/{etag}'})
    assert weak.status_code == 304
    stale, body = raw(
        client, path, **{"If-None-Match": '"something-else"', "Accept-Encoding": "identity"}
    )
    assert stale.status_code == 200 and body == original


def test_the_favicon_is_served(client: TestClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg") and response.headers["etag"]
