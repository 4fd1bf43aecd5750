"""The retrieval systems the eval compares, each over one corpus (a folder or a file).

- `ours`: the product (`KnowledgeBase.search`: dense + question phrasings + heading labels +
  BM25 fused by score, best-sentence cosine, article leads yielding, de-duplication,
  calibrated answerability with the product's floor).
- stage rows: the same store searched with one stage of the product switched on at a time
  (dense only; + BM25 fusion; + spelling correction; + de-duplication; + Q&A question
  matching; + heading label; + best-sentence cosine; + article lead yielding), each abstaining
  below its own top cosine tuned on the dev split, so a loss can be pinned on one stage.
- `LangChain Chroma (baseline)`: what a user would build otherwise: LangChain's text splitter
  (a Q&A file: one document per entry, its question embedded with its answer) and Chroma vector
  store, the same embedder, dense top-k, abstaining below a relevance threshold tuned on dev.

Each returns, per question, the ranked passages as sets of section keys ("doc|heading") and the
number the system abstains on, so one scorer serves all of them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from evals.retrieval.sets import EvalSet, Question, load_questions
from knowledge.base import KnowledgeBase, build_knowledge_base, demo_help_center
from knowledge.chunking import chunk_markdown
from knowledge.loaders import SkipDocument, iter_files, load_file
from knowledge.retriever import HybridRetriever, RetrievalConfig
from knowledge.types import Embedder
from settings import Settings


@dataclass(frozen=True)
class Ranked:
    sections: list[set[str]]  # per passage, best first: the labelled sections it contains
    score: float  # higher = more answerable; the system abstains below its threshold
    signals: dict[str, float]  # raw signals, for fitting and inspection


# One stage of the product at a time, over the same chunks (name, config changes).
_BARE = {
    "lexical_weight": 0.0,
    "spelling": False,
    "deduplicate": False,
    "question_weight": 0.0,
    "label_weight": 0.0,
    "sentence_weight": 0.0,
    "lead_penalty": 0.0,
    "topic_weight": 0.0,
}
STAGES: list[tuple[str, dict[str, Any]]] = [
    ("dense only (same chunks)", {}),
    ("+ BM25 fusion only", {"lexical_weight": RetrievalConfig.lexical_weight}),
    ("+ BM25 fusion only, as before (RRF 1:1)", {"fusion": "rrf", "lexical_weight": 1.0}),
    ("+ spelling only", {"spelling": True}),
    ("+ de-duplication only", {"deduplicate": True}),
    ("+ question matching only", {"question_weight": RetrievalConfig.question_weight}),
    ("+ heading-label cosine only", {"label_weight": RetrievalConfig.label_weight}),
    ("+ sentence cosine only", {"sentence_weight": RetrievalConfig.sentence_weight}),
    ("+ article lead yields only", {"lead_penalty": RetrievalConfig.lead_penalty}),
    ("+ intent topics only", {"topic_weight": RetrievalConfig.topic_weight}),
    (
        "without intent topics (settings of 2026-11-30 09:00)",
        {
            "lexical_weight": RetrievalConfig.lexical_weight,
            "spelling": True,
            "deduplicate": True,
            "question_weight": RetrievalConfig.question_weight,
            "label_weight": RetrievalConfig.label_weight,
            "sentence_weight": RetrievalConfig.sentence_weight,
            "lead_penalty": RetrievalConfig.lead_penalty,
        },
    ),
    (
        "without sentence cosine and lead penalty (settings of 2026-11-30 03:00)",
        {
            "lexical_weight": RetrievalConfig.lexical_weight,
            "spelling": True,
            "deduplicate": True,
            "question_weight": RetrievalConfig.question_weight,
            "label_weight": RetrievalConfig.label_weight,
        },
    ),
    (
        "previous settings (RRF 1:1, no question/label cosines)",
        {"fusion": "rrf", "lexical_weight": 1.0, "spelling": True, "deduplicate": True},
    ),
]


def corpus_documents(corpus: Path) -> list[tuple[str, Path]]:
    """(doc id, path) of every file the product would ingest from `corpus`."""
    return [(doc_id, path) for path, doc_id in iter_files(corpus)]


def section_texts(corpus: Path | None = None) -> dict[str, str]:
    """Section key ("doc|heading") -> section body, for every document of the corpus."""
    corpus = corpus or demo_help_center()
    out: dict[str, str] = {}
    for doc_id, path in corpus_documents(corpus):
        try:
            document = load_file(path, doc_id)
        except SkipDocument:
            continue
        for chunk in chunk_markdown(
            document.markdown,
            doc_id=doc_id,
            source=doc_id,
            fallback_title=document.title,
            max_chars=100_000,
            overlap=0,
        ):
            out[f"{chunk.doc_id}|{chunk.heading}"] = chunk.text
    return out


def labelled_questions(eval_set: EvalSet) -> list[Question]:
    """The set's questions, their labels as section keys (a Q&A file's labels may name its
    entries by id, "f017")."""
    questions = load_questions(eval_set.questions)
    if eval_set.corpus is None:
        return questions
    keys = entry_keys(eval_set.corpus)
    return [
        Question(**{**asdict(q), "relevant": [keys.get(r, r) for r in q.relevant]})
        for q in questions
    ]


def entry_keys(corpus: Path) -> dict[str, str]:
    """Q&A entry id ("f017") -> its section key, for JSON and CSV Q&A files whose entries have
    ids."""
    keys: dict[str, str] = {}
    for doc_id, path in corpus_documents(corpus):
        for item in _id_rows(path):
            question = item.get("question") or (item.get("questions") or [""])[0]
            question = " ".join(str(question).split()).lstrip("#").strip()
            keys[str(item["id"])] = f"{doc_id}|{question}"
    return keys


def _id_rows(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    data: Any = []
    if path.suffix.lower() == ".csv":
        data = list(csv.DictReader(io.StringIO(text)))
    elif path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError:
            return []
        if isinstance(data, dict):
            lists = [v for v in data.values() if isinstance(v, list)]
            data = lists[0] if len(lists) == 1 else []
    if not isinstance(data, list):
        return []
    return [i for i in data if isinstance(i, dict) and i.get("id")]


def _key(metadata: dict[str, Any]) -> str:
    return f"{metadata['doc_id']}|{metadata['heading']}"


class HybridSystem:
    """The product over `corpus`, ingested into a fresh store under `data_dir`."""

    name = "ours (hybrid, product floor)"

    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder,
        corpus: Path | None = None,
        config: RetrievalConfig | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """`settings`: overrides for the corpus's store (its support address, link domains)."""
        self.kb: KnowledgeBase = build_knowledge_base(
            Settings(data_dir=data_dir, **(settings or {})), embedder
        )
        if config is not None:
            self.kb.retriever = replace_config(self.kb.retriever, config)
        # as the product ranks (services.build_services): with the agent's intent reading
        from agent.local.intents import IntentClassifier

        self.kb.use_topics(IntentClassifier(embedder))
        report = self.kb.ingest([corpus or demo_help_center()])
        if report.skipped:
            raise RuntimeError(f"corpus not fully ingested: {report.skipped}")

    def run(self, question: str, k: int) -> Ranked:
        return rank(self.kb.retriever, question, k)


def rank(retriever: HybridRetriever, question: str, k: int) -> Ranked:
    ranking = retriever.rank(question, k)
    sections = [{_key(s.chunk.metadata)} for s in ranking.passages]
    top = ranking.passages[0] if ranking.passages else None
    signals = {
        "cosine": top.cosine if top else -1.0,
        "coverage": top.coverage if top else 0.0,
        "dense_top": ranking.dense_top,
        "heading_top": ranking.heading_top,
        "unseen": ranking.unseen,
    }
    return Ranked(sections, retriever.judge(question, ranking, k), signals)


def replace_config(retriever: HybridRetriever, config: RetrievalConfig) -> HybridRetriever:
    """A retriever like `retriever` (store, embedder, floor, trusted links, store name) with
    `config`."""
    extra = {"trusted": retriever.trusted} if hasattr(retriever, "trusted") else {}
    replaced = HybridRetriever(
        retriever.store,
        retriever.embedder,
        answer_floor=retriever.answer_floor,
        config=config,
        store_name=getattr(retriever, "store_name", None),
        **extra,
    )
    replaced.use_topics(getattr(retriever, "topics", None))
    return replaced


class StageSystem:
    """The product's store and retriever with one stage switched on (see STAGES)."""

    def __init__(self, hybrid: HybridSystem, name: str, changes: dict[str, Any]) -> None:
        self.name = name
        config = replace(hybrid.kb.retriever.config, **{**_BARE, **changes})
        self.retriever = replace_config(hybrid.kb.retriever, config)

    def run(self, question: str, k: int) -> Ranked:
        ranking = self.retriever.rank(question, k)
        sections = [{_key(s.chunk.metadata)} for s in ranking.passages]
        top = ranking.passages[0].cosine if ranking.passages else -1.0
        return Ranked(sections, top, {"cosine": top})


class LangChainSystem:
    """LangChain's Chroma vector store: RecursiveCharacterTextSplitter (1000/200) over text
    files, one document per entry (question + answer) for Q&A files."""

    name = "LangChain Chroma (baseline)"

    def __init__(self, data_dir: Path, embedder: Embedder, corpus: Path | None = None) -> None:
        import chromadb
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        corpus = corpus or demo_help_center()
        self.sections = section_texts(corpus)
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self.chunks: list[Any] = []
        for doc_id, path in corpus_documents(corpus):
            document = load_file(path, doc_id)
            if document.kind == "qa":  # the question embedded with its answer
                for key, body in self.sections.items():
                    source, _, question = key.partition("|")
                    if source == doc_id:
                        content = f"{question}\n{body}"
                        self.chunks.append(Document(page_content=content, metadata={"key": key}))
            else:
                text = path.read_text(encoding="utf-8")
                doc = Document(page_content=text, metadata={"source": doc_id})
                self.chunks.extend(splitter.split_documents([doc]))
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
        sections = [
            {doc.metadata["key"]}
            if "key" in doc.metadata
            else self._sections_in(doc.metadata["source"], doc.page_content)
            for doc, _ in hits
        ]
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
    """LangChain's `Embeddings` interface over one of our embedders."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed([text])[0].tolist()


def _squash(text: str) -> str:
    return " ".join(text.lower().split())
