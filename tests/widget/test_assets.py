"""widget.asset() serves the packaged files and nothing else; widget.js is built from src/."""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources

import pytest

import widget


@pytest.mark.parametrize("name", ["widget.js", "widget.css", "storefront.html"])
def test_packaged_assets_are_readable(name: str) -> None:
    assert len(widget.asset(name)) > 500


@pytest.mark.parametrize("name", ["", "missing.js", "../settings.py", "sub/widget.js", ".hidden"])
def test_asset_refuses_other_names(name: str) -> None:
    with pytest.raises(FileNotFoundError):
        widget.asset(name)


def test_bundle_is_every_source_in_order() -> None:
    src = resources.files("widget").joinpath("src")
    on_disk = sorted(p.name for p in src.iterdir() if p.name.endswith(".js"))
    assert sorted(widget.SOURCES) == on_disk, "a file in widget/src/ is missing from SOURCES"
    js = widget.bundle().decode()
    positions = [js.index(src.joinpath(n).read_text(encoding="utf-8")) for n in widget.SOURCES]
    assert positions == sorted(positions)
    assert js.startswith('(() => {\n"use strict";') and js.rstrip().endswith("})();")
    assert widget.asset("widget.js") == widget.bundle()


def test_bundle_is_valid_javascript(tmp_path) -> None:
    node = shutil.which("node")
    assert node, "node is needed to syntax-check widget.js (apt-get install -y nodejs)"
    path = tmp_path / "widget.js"
    path.write_bytes(widget.bundle())
    result = subprocess.run([node, "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_storefront_embeds_the_widget_like_a_store_would() -> None:
    html = widget.asset("storefront.html").decode()
    assert '<script src="/widget.js" data-title="Northwind Outfitters"' in html
    assert "support-agent store orders --json" in html
    # The demo must work offline: nothing is fetched from another host.
    assert "http://" not in html and "https://" not in html


def test_documented_sizes_are_the_real_ones() -> None:
    """docs/widget.md and docs/benchmarks.md state the widget's size: they cannot drift."""
    import re
    from pathlib import Path

    from web.static import _prepared

    docs = Path(__file__).resolve().parents[2] / "docs"
    for name in ("widget.js", "widget.css"):
        body = widget.asset(name)
        raw, zipped = f"{len(body):,} B", f"{len(_prepared(body)[1]):,} B"
        row = re.compile(rf"^\| `{re.escape(name)}` .*{raw} +\| {zipped} +\|$", re.M)
        for doc in ("widget.md", "benchmarks.md"):
            text = (docs / doc).read_text(encoding="utf-8")
            assert row.search(text), f"docs/{doc}: {name} is {raw} raw, {zipped} gzipped"
