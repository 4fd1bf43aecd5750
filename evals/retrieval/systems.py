"""The retrieval systems the eval compares, each over the demo help center.

- `hybrid`: the product (`KnowledgeBase.search`: dense + BM25, RRF, de-duplication, calibrated
  answerability).
- `dense`: the same chunks and store, dense top-k only, abstaining below a cosine threshold.
- `langchain`: what a user would build otherwise: LangChain's text splitter and Chroma vector
  store, the same MiniLM model, dense top-k, abstaining below a relevance-score threshold.

Each returns, per question, the ranked passages as sets of section keys ("doc|heading") and the
number the system abstains on, so one scorer serves all three.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings

from knowledge.base import KnowledgeBase, build_knowledge_base, demo_help_center
from knowledge.chunking import chunk_markdown
from knowledge.embedder import MiniLMEmbedder
from settings import Settings


@dataclass(frozen=True)
class Ranked:
    sections: list[set[str]]  # per passage, best first: the labelled sections it contains
    score: float  # higher = more answerable; the system abstains below its threshold
    signals: dict[str, float]  # raw signals, for fitting and inspection


def section_texts(folder: Path | None = None) -> dict[str, str]:
    """Section key ("doc|heading") -> section body, from the demo help center."""
    folder = folder or demo_help_center()
    out: dict[str, str] = {}
    for path in sorted(folder.glob("*.md")):
        for chunk in chunk_markdown(
            path.read_text(encoding="utf-8"),
            doc_id=path.name,
            source=path.name,
            fallback_title=path.stem,
            max_chars=100_000,
            overlap=0,
        ):
            out[f"{chunk.doc_id}|{chunk.heading}"] = chunk.text
    return out


class HybridSystem:
    name = "hybrid (ours)"

    def __init__(self, data_dir: Path, embedder: MiniLMEmbedder) -> None:
        self.kb: KnowledgeBase = build_knowledge_base(Settings(data_dir=data_dir), embedder)
        self.kb.ensure_demo()

    def run(self, question: str, k: int) -> Ranked:
        retriever = self.kb.retriever
        ranking = retriever.rank(question, k)
        sections = [
            {f"{s.chunk.metadata['doc_id']}|{s.chunk.metadata['heading']}"}
            for s in ranking.passages
        ]
        top = ranking.passages[0] if ranking.passages else None
        signals = {
            "cosine": top.cosine if top else -1.0,
            "coverage": top.coverage if top else 0.0,
            "dense_top": ranking.dense_top,
            "heading_top": ranking.heading_top,
            "unseen": ranking.unseen,
        }
        return Ranked(sections, retriever.answerability(ranking), signals)


class DenseSystem:
    name = "dense only (same chunks)"

    def __init__(self, hybrid: HybridSystem, embedder: MiniLMEmbedder) -> None:
        self.store = hybrid.kb.store
        self.embedder = embedder

    def run(self, question: str, k: int) -> Ranked:
        hits = self.store.query(self.embedder.embed([question])[0], k, where={"flagged": False})
        sections = [{f"{h.metadata['doc_id']}|{h.metadata['heading']}"} for h in hits]
        top = hits[0].score if hits else -1.0
        return Ranked(sections, top, {"cosine": top})


class LangChainSystem:
    """LangChain's Chroma vector store with RecursiveCharacterTextSplitter (1000/200)."""

    name = "LangChain Chroma (baseline)"

    def __init__(self, data_dir: Path, embedder: MiniLMEmbedder) -> None:
        import chromadb
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.sections = section_texts()
        docs = [
            Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": path.name})
            for path in sorted(demo_help_center().glob("*.md"))
        ]
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self.chunks = splitter.split_documents(docs)
        self.store = Chroma(
            collection_name="langchain_baseline",
            embedding_function=LangChainEmbeddings(embedder),
            persist_directory=str(data_dir / "langchain"),
            client_settings=chromadb.config.Settings(anonymized_telemetry=False),
            collection_metadata={"hnsw:space": "cosine"},
        )
        if not self.store.get(limit=1)["ids"]:
            self.store.add_documents(self.chunks)

    def run(self, question: str, k: int) -> Ranked:
        with warnings.catch_warnings():  # cosine relevance can be slightly negative
            warnings.simplefilter("ignore", UserWarning)
            hits = self.store.similarity_search_with_relevance_scores(question, k=k)
        sections = [self._sections_in(doc.metadata["source"], doc.page_content) for doc, _ in hits]
        top = hits[0][1] if hits else -1.0
        return Ranked(sections, top, {"relevance": top})

    def _sections_in(self, source: str, text: str) -> set[str]:
        """Labelled sections this chunk contains a sentence (30+ characters) of."""
        flat = _squash(text)
        found = set()
        for key, body in self.sections.items():
            if not key.startswith(f"{source}|"):
                continue
            sentences = [s for s in re.split(r"(?<=[.!?:])\s+|\n+", body) if len(s) >= 30]
            if any(_squash(s) in flat for s in sentences):
                found.add(key)
        return found


class LangChainEmbeddings(Embeddings):
    """LangChain's `Embeddings` interface over the same MiniLM embedder."""

    def __init__(self, embedder: MiniLMEmbedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed([text])[0].tolist()


def _squash(text: str) -> str:
    return " ".join(text.lower().split())
