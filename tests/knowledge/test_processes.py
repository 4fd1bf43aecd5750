"""The server and `support-agent kb ...` in a shell share one embedded Chroma folder.

Chroma's embedded client is not process-safe: without `ChunkStore.refresh` the server's reads
fail after a shell ingest ("Error finding id"), and its next write can persist a stale index over
what the shell added. These tests run the real CLI in separate processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from knowledge.base import build_knowledge_base
from knowledge.types import Embedder
from settings import Settings
from tests.knowledge.conftest import write

ROOT = Path(__file__).resolve().parents[2]


def cli(data_dir: Path, *args: str, stdin: str | None = None) -> str:
    env = dict(os.environ, SUPPORT_DATA_DIR=str(data_dir), SUPPORT_ENV="test")
    out = subprocess.run(
        [sys.executable, "-m", "cli", "kb", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_shell_ingest_reaches_a_running_server_and_nothing_is_lost(
    tmp_path: Path, embedder: Embedder
) -> None:
    data = tmp_path / "data"
    server_kb = build_knowledge_base(Settings(env="test", data_dir=data), embedder)
    server_kb.retriever.config = type(server_kb.retriever.config)(revision_ttl_s=0.0)
    write(tmp_path / "a" / "hours.md", "# Hours\n\n## Support\n\nWe answer Monday to Friday.")
    server_kb.ingest([tmp_path / "a"])
    assert server_kb.search("are you open on monday").passages[0].source == "hours.md"

    # another process (a merchant's shell) adds a document while the server holds its index
    write(
        tmp_path / "b" / "kayaks.md",
        "# Kayaks\n\n## Surcharge\n\nInflatable kayaks carry a $15 oversize surcharge.",
    )
    assert "1 added" in cli(data, "ingest", str(tmp_path / "b"))
    found = server_kb.search("kayak oversize surcharge", k=2)
    assert found.passages[0].source == "kayaks.md" and found.answerable
    assert server_kb.store.reopened >= 1

    # the server writes next (a staff upload), after the shell's write
    report = server_kb.ingest_bytes("gift-cards.md", b"# Gift cards\n\n## Expiry\n\nNever expire.")
    assert report.documents_added == 1

    # a fresh process sees all three documents, and finds each by its vector and its words
    listed = cli(data, "list")
    for doc in ("hours.md", "kayaks.md", "gift-cards.md"):
        assert doc in listed
    queries = "are you open on monday\nkayak oversize surcharge\ndo gift cards expire\n"
    lines = [
        json.loads(x)
        for x in cli(data, "search", "--queries", "-", "--json", stdin=queries).splitlines()
        if x.strip()
    ]
    assert [line["results"][0]["source"] for line in lines] == [
        "hours.md",
        "kayaks.md",
        "gift-cards.md",
    ]


def test_two_shell_ingests_at_once_keep_both(tmp_path: Path, embedder: Embedder) -> None:
    data = tmp_path / "data"
    kb = build_knowledge_base(Settings(env="test", data_dir=data), embedder)
    # a store with content already, as on a merchant's machine (its own, not the demo's, which
    # the first ingest of anything else retires)
    for i in range(5):
        write(tmp_path / "own" / f"own-{i}.md", f"# Own {i}\n\n## Part\n\nOur policy {i}.")
    kb.ingest([tmp_path / "own"])
    before = kb.count()
    folders = []
    for n in range(2):
        folder = tmp_path / f"batch{n}"
        for i in range(12):
            write(folder / f"doc{n}-{i}.md", f"# Topic {n} {i}\n\n## Detail\n\nFact {n}-{i} here.")
        folders.append(folder)
    env = dict(os.environ, SUPPORT_DATA_DIR=str(data), SUPPORT_ENV="test")
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "cli", "kb", "ingest", str(folder)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in folders
    ]
    # the server writes while they run
    kb.ingest_bytes("upload.md", b"# Upload\n\n## Note\n\nUploaded while others wrote.")
    for process in running:
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err

    listed = cli(data, "list")
    names = [f"doc{n}-{i}.md" for n in range(2) for i in range(12)] + ["upload.md"]
    assert all(name in listed for name in names)
    kb.store.refresh()
    assert kb.count() == before + 25
    assert len(kb.store.heading_vectors()) == before + 25
