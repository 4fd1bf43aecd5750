from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from knowledge.cli import app
from tests.knowledge.conftest import write


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SUPPORT_CHROMA_URL", raising=False)
    folder = tmp_path / "help"
    write(
        folder / "returns.md",
        "# Returns Policy\n\n## Window\n\n"
        "You can return unworn items within 30 days of delivery for a full refund.",
    )
    write(
        folder / "shipping.md",
        "# Shipping\n\n## Costs\n\nStandard shipping costs $6.95 and is free on orders over $75.",
    )
    return folder


def test_ingest_then_search_json(env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(env)])
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output and "chunks embedded: 2" in result.output

    again = runner.invoke(app, ["ingest", str(env)])
    assert "2 unchanged" in again.output and "chunks embedded: 0" in again.output

    found = runner.invoke(
        app, ["search", "how long do I have to return something", "--json", "--k", "2"]
    )
    assert found.exit_code == 0, found.output
    payload = json.loads(found.output)
    assert set(payload) == {"query", "results", "answerable"}
    assert payload["answerable"] is True
    assert len(payload["results"]) == 2
    top = payload["results"][0]
    assert set(top) == {"id", "title", "text", "score", "source"}
    assert (top["id"], top["title"], top["source"]) == (
        "returns.md#0",
        "Returns Policy",
        "returns.md",
    )


def test_search_text_output_and_off_topic(env: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["ingest", str(env)])
    result = runner.invoke(app, ["search", "what's the capital of Peru"])
    assert result.exit_code == 0
    assert result.output.startswith("not answerable")


def test_ingest_reports_skipped_files(env: Path) -> None:
    write(env / "broken.md", b"\x00\x01\x02")
    result = CliRunner().invoke(app, ["ingest", str(env)])
    assert result.exit_code == 0
    assert "skipped: 1" in result.output and "broken.md: binary content" in result.output
