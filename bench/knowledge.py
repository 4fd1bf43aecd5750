"""Knowledge-base benchmark: ingest throughput, unchanged re-ingest, query latency, vs. baseline.

    .venv/bin/python bench/knowledge.py                   # 10,000 chunks, 200 queries
    .venv/bin/python bench/knowledge.py --chunks 2000 --system ours --json bench-kb.json

A synthetic help center (one section = one chunk, ~250 characters each) is ingested into
(1) our KnowledgeBase and (2) LangChain's Chroma vector store with the same MiniLM model, then:
ingest chunks/s, re-ingest time of the unchanged corpus, and search latency p50/p95 over distinct
customer-style queries, end to end (embedding included) and with the query embedding cached
(retrieval only). Targets on the 2-core machine: unchanged re-ingest of 10,000 chunks ≤ 5 s, query
p95 ≤ 25 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOPICS = [
    "returns",
    "refunds",
    "shipping",
    "delivery",
    "exchanges",
    "warranty",
    "gift cards",
    "payments",
    "promo codes",
    "sizing",
    "tracking",
    "accounts",
    "rewards",
    "preorders",
]
ITEMS = [
    "rain jacket",
    "hiking boots",
    "tent",
    "sleeping bag",
    "fleece",
    "trail shoes",
    "backpack",
    "headlamp",
    "camp stove",
    "base layer",
    "kayak",
    "trekking poles",
    "gloves",
    "beanie",
]
PLACES = [
    "California",
    "Texas",
    "New York",
    "Alaska",
    "Hawaii",
    "Canada",
    "the UK",
    "Germany",
    "Japan",
    "Australia",
    "Ohio",
    "Florida",
    "Oregon",
    "Colorado",
]
VERBS = [
    "ship",
    "arrive",
    "be refunded",
    "be exchanged",
    "be repaired",
    "be returned",
    "be tracked",
    "be cancelled",
    "be upgraded",
    "be replaced",
]


def sentence(rng: random.Random) -> str:
    return (
        f"A {rng.choice(ITEMS)} ordered to {rng.choice(PLACES)} can {rng.choice(VERBS)} "
        f"within {rng.randint(1, 60)} days for ${rng.randint(5, 400)} under our "
        f"{rng.choice(TOPICS)} policy, code {rng.randint(1000, 99999)}."
    )


def write_corpus(folder: Path, chunks: int, sections: int = 10, seed: int = 7) -> list[str]:
    """`chunks` sections in files of `sections`; returns one query per 50 sections."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    queries: list[str] = []
    for doc in range(0, chunks, sections):
        parts = [f"# {rng.choice(TOPICS).title()} article {doc // sections}"]
        for s in range(min(sections, chunks - doc)):
            parts.append(f"## {rng.choice(ITEMS).title()} {rng.choice(TOPICS)} {doc + s}")
            parts.append(" ".join(sentence(rng) for _ in range(2)))
        (folder / f"article-{doc // sections:05d}.md").write_text("\n\n".join(parts) + "\n")
    for i in range(max(200, chunks // 50)):
        queries.append(
            f"can my {rng.choice(ITEMS)} {rng.choice(VERBS)} to {rng.choice(PLACES)} ({i})?"
        )
    return queries


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(calls: Sequence[Callable[[], object]]) -> list[float]:
    out = []
    for call in calls:
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def bench_ours(folder: Path, data: Path, queries: list[str], embedder: Any) -> dict[str, float]:
    from knowledge.base import build_knowledge_base
    from settings import Settings

    kb = build_knowledge_base(Settings(data_dir=data), embedder)
    start = time.perf_counter()
    report = kb.ingest([folder])
    ingest_s = time.perf_counter() - start
    start = time.perf_counter()
    again = kb.ingest([folder])
    reingest_s = time.perf_counter() - start
    assert again.chunks_added == 0, again
    kb.search("warm up the keyword index")
    embedder.clear_cache()
    cold = timed([lambda q=q: kb.search(q, k=4) for q in queries])  # embeds each query
    warm = timed([lambda q=q: kb.search(q, k=4) for q in queries])  # query vectors cached
    return _result(report.chunks_added, ingest_s, reingest_s, cold, warm)


def bench_langchain(
    folder: Path, data: Path, queries: list[str], embedder: Any
) -> dict[str, float]:
    import chromadb
    from langchain_chroma import Chroma
    from langchain_core.documents import Document

    from evals.retrieval.systems import LangChainEmbeddings
    from knowledge.chunking import chunk_markdown

    chunks = [
        c
        for path in sorted(folder.glob("*.md"))
        for c in chunk_markdown(
            path.read_text(), doc_id=path.name, source=path.name, fallback_title=path.stem
        )
    ]
    docs = [Document(page_content=c.embed_text, metadata={"source": c.source}) for c in chunks]
    ids = [c.id for c in chunks]
    embeddings = LangChainEmbeddings(embedder)
    store = Chroma(
        collection_name="baseline",
        embedding_function=embeddings,
        persist_directory=str(data),
        client_settings=chromadb.config.Settings(anonymized_telemetry=False),
        collection_metadata={"hnsw:space": "cosine"},
    )

    def add_all() -> None:  # Chroma refuses batches over ~5,000 records
        for i in range(0, len(docs), 1000):
            store.add_documents(docs[i : i + 1000], ids=ids[i : i + 1000])

    start = time.perf_counter()
    add_all()
    ingest_s = time.perf_counter() - start
    start = time.perf_counter()
    add_all()  # what re-running the same script does: embed everything again
    reingest_s = time.perf_counter() - start
    embedder.clear_cache()
    cold = timed(
        [lambda q=q: store.similarity_search_with_relevance_scores(q, k=4) for q in queries]
    )
    vectors = [embeddings.embed_query(q) for q in queries]
    warm = timed(
        [
            lambda v=v: store.similarity_search_by_vector_with_relevance_scores(v, k=4)
            for v in vectors
        ]
    )
    return _result(len(chunks), ingest_s, reingest_s, cold, warm)


def _result(
    chunks: int, ingest_s: float, reingest_s: float, cold: list[float], warm: list[float]
) -> dict[str, float]:
    cold_p50, cold_p95 = percentiles(cold)
    warm_p50, warm_p95 = percentiles(warm)
    return {
        "chunks": chunks,
        "ingest_s": ingest_s,
        "chunks_per_s": chunks / ingest_s,
        "reingest_s": reingest_s,
        "query_p50_ms": cold_p50,
        "query_p95_ms": cold_p95,
        "cached_query_p50_ms": warm_p50,
        "cached_query_p95_ms": warm_p95,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--system", choices=["ours", "langchain", "both"], default="both")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--keep",
        type=Path,
        help="work in this folder and keep it (a second run re-measures "
        "queries; its ingest figures are then re-ingests)",
    )
    args = parser.parse_args(argv)

    from knowledge.embedder import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    embedder.embed(["load the model before timing"])
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        root = args.keep or Path(tmp)
        queries = write_corpus(root / "corpus", args.chunks)[: args.queries]
        if args.system in {"ours", "both"}:
            results["ours (hybrid)"] = bench_ours(root / "corpus", root / "ours", queries, embedder)
            _report(results, args.json)
        if args.system in {"langchain", "both"}:
            results["LangChain Chroma"] = bench_langchain(
                root / "corpus", root / "lc", queries, embedder
            )
            _report(results, args.json)
    return 0


def _report(results: dict[str, dict[str, float]], json_path: Path | None) -> None:
    """Print the table so far (a long run shows each system as soon as it is measured)."""
    rows = [
        "| system | chunks | ingest chunks/s | unchanged re-ingest s | query p50 / p95 ms "
        "| cached-embedding query p50 / p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        rows.append(
            f"| {name} | {r['chunks']:.0f} | {r['chunks_per_s']:.1f} | {r['reingest_s']:.2f} "
            f"| {r['query_p50_ms']:.1f} / {r['query_p95_ms']:.1f} "
            f"| {r['cached_query_p50_ms']:.1f} / {r['cached_query_p95_ms']:.1f} |"
        )
    sys.stdout.write("\n".join(rows) + "\n")
    sys.stdout.flush()
    if json_path:
        json_path.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.exit(main())
