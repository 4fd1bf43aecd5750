"""The knowledge base against a real Chroma server (`chroma run`), started here on loopback.

The test fails, rather than skips, when the server cannot start: `SUPPORT_CHROMA_URL` is a
supported deployment and has to keep working.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from knowledge.base import build_knowledge_base
from knowledge.store import make_client
from knowledge.types import Embedder
from settings import Settings
from tests.conftest import free_port
from tests.knowledge.conftest import write


def chroma_executable() -> str:
    beside_python = Path(sys.executable).with_name("chroma")
    found = str(beside_python) if beside_python.exists() else shutil.which("chroma")
    assert found, "the `chroma` command (installed with chromadb) was not found"
    return found


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("wb")
    process = subprocess.Popen(
        [
            chroma_executable(),
            "run",
            "--path",
            str(path / "db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"chroma run exited with {process.returncode}: "
                    f"{(path / 'server.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("chroma run did not answer its heartbeat within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_knowledge_base_over_http_client(
    chroma_url: str, tmp_path: Path, embedder: Embedder
) -> None:
    settings = Settings(env="test", data_dir=tmp_path / "data", chroma_url=chroma_url)
    client = make_client(settings)
    assert type(client).__name__ != "PersistentClient"
    assert not settings.chroma_path.exists(), "an HTTP deployment keeps nothing on local disk"

    kb = build_knowledge_base(settings, embedder)
    folder = tmp_path / "help"
    write(
        folder / "returns.md",
        "# Returns\n\n## Window\n\nReturn unworn items within 30 days "
        "of delivery.\n\n## Final sale\n\nClearance items, underwear and socks, and gift cards.",
    )
    write(
        folder / "shipping.md",
        "# Shipping\n\n## Costs\n\nStandard shipping is $6.95 and free over $75.",
    )
    report = kb.ingest([folder])
    assert (report.documents_added, report.chunks_added) == (2, 3)
    assert kb.ping() and kb.count() == 3

    again = build_knowledge_base(settings, embedder).ingest([folder])
    assert again.documents_unchanged == 2 and again.chunks_added == 0

    # (this test is about the HTTP store; the question names its section's heading plainly, since
    # answerability is calibrated on the demo help center, not on this two-file one)
    result = kb.search("are socks final sale, can I send them back?", k=2)
    assert result.answerable
    assert (result.passages[0].source, result.passages[0].heading) == ("returns.md", "Final sale")
    assert kb.delete("shipping.md") == 1 and kb.count() == 2
