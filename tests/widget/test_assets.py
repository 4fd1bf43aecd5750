"""widget.asset() serves the packaged files and nothing else."""

from __future__ import annotations

import pytest

import widget


@pytest.mark.parametrize("name", ["widget.js", "widget.css", "storefront.html"])
def test_packaged_assets_are_readable(name: str) -> None:
    assert len(widget.asset(name)) > 500


@pytest.mark.parametrize("name", ["", "missing.js", "../settings.py", "sub/widget.js", ".hidden"])
def test_asset_refuses_other_names(name: str) -> None:
    with pytest.raises(FileNotFoundError):
        widget.asset(name)


def test_storefront_embeds_the_widget_like_a_store_would() -> None:
    html = widget.asset("storefront.html").decode()
    assert '<script src="/widget.js" data-title="Northwind Outfitters"></script>' in html
    assert "support-agent store orders --json" in html
    # The demo must work offline: nothing is fetched from another host.
    assert "http://" not in html and "https://" not in html
