"""Knowledge fixtures: a counting wrapper over the session's one real MiniLM embedder, fresh
knowledge bases in temporary folders, and one demo help center ingested once per session.

The session-scoped `embedder` fixture (the real MiniLMEmbedder) lives in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from knowledge.base import KnowledgeBase, build_knowledge_base
from knowledge.embedding_space import embedder_id
from knowledge.types import Embedder
from settings import Settings


class CountingEmbedder:
    """Delegates to a real embedder and counts the texts it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.dimension = inner.dimension
        self.space = embedder_id(inner)  # the same vector space as the model it wraps
        # and the answerability fitted for it (knowledge/embedding_space.py)
        for attribute in ("answer_floor", "coverage_weight"):
            if hasattr(inner, attribute):
                setattr(self, attribute, getattr(inner, attribute))
        self.texts: list[str] = []

    @property
    def count(self) -> int:
        return len(self.texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture
def counting_embedder(embedder: Embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


@pytest.fixture
def make_kb(tmp_path: Path, counting_embedder: CountingEmbedder) -> Callable[..., KnowledgeBase]:
    """A fresh knowledge base in its own folder; same folder on repeated calls with one name."""

    def make(name: str = "kb", **overrides: object) -> KnowledgeBase:
        settings = Settings(env="test", data_dir=tmp_path / name, **overrides)  # type: ignore[arg-type]
        return build_knowledge_base(settings, counting_embedder)

    return make


@pytest.fixture(scope="session")
def demo_kb(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> KnowledgeBase:
    """The packaged demo help center, ingested once for the whole session (read-only use)."""
    settings = Settings(env="test", data_dir=tmp_path_factory.mktemp("demo-kb"))
    kb = build_knowledge_base(settings, embedder)
    report = kb.ensure_demo()
    assert report is not None and not report.skipped
    return kb


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def make_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with `lines` of Helvetica text (ASCII, no parentheses)."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines)
    content += " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)
