"""The retriever's vocabulary: its configuration, a scored candidate, a query's ranking, and
the small pure functions around them (answerability, Chroma filters, a passage's title)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from knowledge.types import Passage, StoredChunk

Filters = Mapping[str, Any]  # metadata key -> value, or list of allowed values


@dataclass(frozen=True)
class RetrievalConfig:
    candidates: int = 20  # per retriever, before fusion
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    # Fusion: "score" ranks by dense score + lexical_weight × BM25 / the query's best BM25;
    # "rrf" (reciprocal rank, k = rrf_k) gave keywords as much say as meaning, which lost to
    # plain dense retrieval on paraphrased questions (docs/knowledge.md has the figures).
    fusion: Literal["rrf", "score"] = "score"
    lexical_weight: float = 0.15  # 0: dense only, no keyword fusion
    spelling: bool = True  # fix typos against the help center's words before searching
    deduplicate: bool = True
    # A Q&A answer is also found by its question alone and by each other phrasing of it:
    # dense score = (1 − q) × "question + answer" cosine + q × the best of all those cosines.
    question_weight: float = 0.5
    # Share of the cosine with the chunk's "title: heading" label in every chunk's dense score.
    label_weight: float = 0.1
    # The fused order reads each chunk's best sentence cosine too: dense score →
    # (1 − t) × dense score + t × best sentence cosine (chunks in memory, not Q&A answers).
    sentence_weight: float = 0.1
    max_sentences: int = 20_000  # above this many sentences (~30 MB of vectors) the signal is off
    # An article's lead section (the text before its first heading, when it has sections) is an
    # overview that shares words with all of them: it ranks this much lower than a section.
    lead_penalty: float = 0.06
    # With a topic reader (the intent classifier), the fused score also gains this much × the
    # cosine between the question's and the chunk's topic distributions (chunks in memory).
    topic_weight: float = 0.08
    duplicate_cosine: float = 0.97  # at or above: a near-duplicate of a better passage
    coverage_weight: float = 0.05  # how much keyword coverage moves the answerability score
    coverage_centre: float = 0.5
    # share of the heading cosine in the answerability score: fitted to 0 once the label's
    # cosine became part of every dense score (label_weight)
    heading_weight: float = 0.0
    heading_passages: int = 3  # headings of this many top passages are compared with the query
    heading_cache: int = 8192  # heading vectors kept (1.5 KB each)
    confidence_slope: float = 7.0  # fitted: see evals/retrieval
    revision_ttl_s: float = 1.0  # how often to check whether another process changed the store
    # Up to this many chunks the vectors are also kept in memory (1.5 MB per 1,000) and dense
    # search is an exact matrix product (~1 ms at 10,000); above it, Chroma's HNSW index answers.
    in_memory_max_chunks: int = 50_000


@dataclass(frozen=True)
class Scored:
    """One fused candidate with the signals answerability is computed from."""

    chunk: StoredChunk
    cosine: float
    rrf: float
    coverage: float
    topic: float | None = None  # see Passage.topic


@dataclass(frozen=True)
class Ranking:
    """The fused candidates for one query, and query-level signals."""

    searched: str  # the query after spelling fixes
    passages: list[Scored]
    dense_top: float  # best cosine among dense candidates (-1 when none)
    unseen: float  # share of query terms the help center never uses
    heading_top: float = -1.0  # best cosine of the query with a top passage's "title: heading"


def answerability_score(
    dense_top: float,
    heading_top: float,
    coverage: float,
    *,
    coverage_weight: float,
    heading_weight: float,
    coverage_centre: float = 0.5,
) -> float:
    """z = (1 − h) × dense + h × heading + w × (coverage − centre); no heading (-1): h = 0.
    The eval fits w, h and the floor with this same function (evals/retrieval/run.py)."""
    h = heading_weight if heading_top > -1.0 else 0.0
    return (1.0 - h) * dense_top + h * heading_top + coverage_weight * (coverage - coverage_centre)


def where_clause(filters: Filters | None) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = [{"flagged": False}]
    for key, value in (filters or {}).items():
        if isinstance(value, list | tuple | set | frozenset):
            clauses.append({key: {"$in": list(value)}})
        else:
            clauses.append({key: value})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def passage_title(metadata: Mapping[str, Any]) -> str:
    """What a result and its citation are called: a Q&A answer by its question, anything
    else by its document's title."""
    if metadata.get("kind") == "qa" and metadata.get("heading"):
        return str(metadata["heading"])
    return str(metadata.get("title", ""))


def to_passage(scored: Scored) -> Passage:
    meta = scored.chunk.metadata
    return Passage(
        id=scored.chunk.id,
        title=passage_title(meta),
        text=scored.chunk.text,
        score=scored.cosine,
        source=str(meta.get("source", "")),
        heading=str(meta.get("heading", "")),
        topic=scored.topic,
        own_host=str(meta.get("own_host", "")),
    )
