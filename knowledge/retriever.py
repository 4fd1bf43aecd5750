"""Hybrid retrieval: dense (in memory or Chroma) + BM25 (bm25s), fused by score.

    query ─ fix typos ─┬─ embed ── dense score per chunk ─┐
                       └─ analyse ─ BM25 top-n ───────────┴─ fuse ─ drop near-duplicates ─ top-k

    dense score  = (1 − q) × s + q × max(s, best cosine with the chunk's Q&A question phrasings)
        where s  = (1 − l) × cosine(query, chunk) + l × cosine(query, "title: heading" label)
    fused score  = (1 − t) × dense score + t × best sentence cosine + λ × BM25 / best BM25
                   − p × [the chunk is the lead of an article with sections]
                   + u × cosine(topic distribution of the query, of the chunk)

    answerable  ⇔  z = (1 − h) × best dense score + h × best heading cosine
                       + w × (keyword coverage of the top passage − ½)  ≥ floor

Chunks flagged as instructions are never candidates. Passage scores are dense scores (cosine
scale), so they mean the same thing as before fusion; the order is the fused order. The keyword
side only breaks near-ties (λ = 0.15): reciprocal-rank fusion gave it as much say as meaning and
lost to plain dense retrieval on independently paraphrased questions (docs/knowledge.md). A Q&A
answer is also found by its question alone and by each other phrasing an entry gives, so a
question phrased like one of them finds it even when the answer's wording differs. The
sentence cosine (t = 0.1) and the lead penalty (p = 0.06) pick the section of a long article
that answers rather than its overview; they move the order only, never a passage's score. With a
topic reader (`use_topics`: the agent's intent classifier, trained on customer-written requests),
a chunk whose intent distribution matches the question's gains u = 0.08: "the jacket is too
small, I need a large" reads as an exchange, and so does the Exchanges section.

`z` is on the cosine scale, so the floor keeps its meaning, and confidence = sigmoid(slope ×
(z − floor)) is 0.5 exactly at the floor. The floor is the embedder's own (`answer_floor`,
fitted for its model) unless SUPPORT_KB_ANSWER_FLOOR is set. q, l, λ, h, w, the floor and the
slope are fitted on the dev splits of the eval sets (`python -m evals.retrieval.run --set all
--split dev --fit`); the test splits are held out.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import replace

import numpy as np

from knowledge import untrusted
from knowledge.dense import (
    DenseExtras,
    Phrasings,
    Sentences,
    blend_hits,
    embed_sentences,
    index_text,
    lead_sections,
)
from knowledge.embedding_space import (
    default_answer_floor,
    default_coverage_weight,
    ensure_embedder,
)
from knowledge.headings import HeadingVectors
from knowledge.lexical import LexicalIndex, analyse, metadata_matches
from knowledge.links import TrustedLinks
from knowledge.ranking import (
    Filters,
    Ranking,
    RetrievalConfig,
    Scored,
    answerability_score,
    passage_title,
    to_passage,
    where_clause,
)
from knowledge.store import ChunkStore
from knowledge.store_name import name_pattern, without_store_name
from knowledge.topics import ChunkTopics
from knowledge.types import Embedder, SearchResult, StoredChunk, TopicReader


class HybridRetriever:
    """Searches one ChunkStore; the BM25 index follows the store's revision token."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        *,
        answer_floor: float | None = None,
        config: RetrievalConfig | None = None,
        trusted: TrustedLinks | None = None,
        store_name: str | None = None,
    ) -> None:
        """`answer_floor` None: the floor fitted for the embedder's model; `config` None: the
        defaults, with the coverage weight fitted along with that floor. `trusted`: where a
        passage may send customers (knowledge/untrusted.py; None: links not checked).
        `store_name`: a question that names the store is judged without it too (`judge`)."""
        self.store = store
        self.store_name = store_name
        self._name = name_pattern(store_name)
        self.trusted = trusted
        self.embedder = embedder
        self.answer_floor = default_answer_floor(embedder) if answer_floor is None else answer_floor
        if config is None:
            config = RetrievalConfig()
            weight = default_coverage_weight(embedder, config.coverage_weight)
            config = replace(config, coverage_weight=weight)
        self.config = config
        self._lock = threading.Lock()
        self._index: LexicalIndex | None = None
        self._revision: str | None = None
        self._checked_at = 0.0
        self._headings = HeadingVectors(store, embedder, self.config.heading_cache)
        self._extras = DenseExtras()  # label and Q&A question vectors held in memory
        self._sentences: Sentences | None = None  # every in-memory chunk's sentence vectors
        self._leads = np.zeros(0, dtype=np.float32)  # 1.0 at an article's lead section
        self._topics = ChunkTopics()  # see use_topics

    @property
    def topics(self) -> TopicReader | None:
        """The topic reader the ranking uses (knowledge/topics.py), if any."""
        return self._topics.reader

    def use_topics(self, reader: TopicReader | None) -> bool:
        """Rank with `reader`'s topic distributions too (None: stop). A reader that embeds with
        another model than the store's is refused (its vectors would not match): False."""
        return self._topics.use(reader, self.embedder)

    def warm(self) -> None:
        """Build the keyword index and the in-memory vectors now (at start-up), so the first
        customer's question does not wait for them (and the chunks' topics, with a reader)."""
        self._topics.warm(self._lexical_index())

    def invalidate(self) -> None:
        with self._lock:
            self._index = None
            self._revision = None

    def search(self, query: str, k: int = 4, filters: Filters | None = None) -> SearchResult:
        query = query.strip()
        if not query or k <= 0:
            return SearchResult(query=query, passages=[], answerable=False, confidence=0.0)
        ranking = self.rank(query, k, filters)
        passages = [to_passage(s) for s in ranking.passages]
        if not passages:
            return SearchResult(query=query, passages=[], answerable=False, confidence=0.0)
        z = self.judge(query, ranking, k, filters)
        return SearchResult(
            query=query,
            passages=passages,
            answerable=z >= self.answer_floor,
            confidence=self.confidence(z),
        )

    def judge(self, query: str, ranking: Ranking, k: int, filters: Filters | None = None) -> float:
        """The answerability of `ranking`, the ranking of `query`. A question that names the
        store is judged without the name as well, and the lower score counts: the name lends
        every entry some likeness ("is Tallgrass owned by Petco" and "Is Tallgrass Pet Co.
        hiring?"). The ranking itself keeps it: "the warranty on Northwind jackets" asks
        about the store's own brand (knowledge/store_name.py)."""
        z = self.answerability(ranking)
        plain = without_store_name(query, self._name)
        if plain != query and ranking.passages:
            z = min(z, self.answerability(self.rank(plain, k, filters)))
        return z

    def answerability(self, ranking: Ranking) -> float:
        """The calibrated score z of the module docstring (-1 when nothing was found)."""
        c = self.config
        if not ranking.passages:
            return -1.0
        return answerability_score(
            ranking.dense_top,
            ranking.heading_top,
            ranking.passages[0].coverage,
            coverage_weight=c.coverage_weight,
            heading_weight=c.heading_weight,
            coverage_centre=c.coverage_centre,
        )

    def confidence(self, z: float) -> float:
        return 1.0 / (1.0 + math.exp(-self.config.confidence_slope * (z - self.answer_floor)))

    def rank(self, query: str, k: int, filters: Filters | None = None) -> Ranking:
        """Fused, de-duplicated candidates, best first, at most `k`."""
        c = self.config
        index = self._lexical_index()
        searched = index.spelling.fix(query) if c.spelling else query
        vector = np.asarray(self.embedder.embed([searched])[0], dtype=np.float32)
        terms = analyse(searched)
        n = max(c.candidates, k)

        mask = index.matches(filters)
        dense = self._dense(index, vector, n, filters, mask)
        lexical = index.search(terms, n, mask=mask) if c.lexical_weight else []

        fused: dict[str, float] = {}
        chunks: dict[str, StoredChunk] = {}
        for rank, hit in enumerate(dense):
            fused[hit.id] = c.dense_weight / (c.rrf_k + rank + 1) if c.fusion == "rrf" else 0.0
            chunks[hit.id] = hit
        best = max((score for _, score in lexical), default=0.0) or 1.0
        for rank, (position, score) in enumerate(lexical):
            chunk_id = index.ids[position]
            if c.fusion == "rrf":
                share = c.lexical_weight / (c.rrf_k + rank + 1)
            else:
                share = c.lexical_weight * score / best
            fused[chunk_id] = fused.get(chunk_id, 0.0) + share
        missing = [i for i in fused if i not in chunks]
        stored = self.store.embeddings(missing) if missing and index.vectors is None else {}
        for chunk_id in missing:
            position = index.position[chunk_id]
            if index.vectors is not None:
                embedding = index.vectors[position]
            elif chunk_id in stored:
                embedding = stored[chunk_id]
            else:  # deleted since the index was built
                del fused[chunk_id]
                continue
            chunks[chunk_id] = StoredChunk(
                id=chunk_id,
                text=index.texts[position],
                metadata=index.metadatas[position],
                score=self._extras.score_one(
                    float(embedding @ vector),
                    position,
                    vector,
                    label_weight=c.label_weight,
                    question_weight=c.question_weight,
                ),
                embedding=embedding,
            )
        topics: dict[str, float] = {}  # each chunk's topic cosine, for its passage
        if c.fusion == "score":
            topic = self._topics.cosines(index, vector, searched) if c.topic_weight else None
            sentences = self._sentences
            best = sentences.best(vector) if sentences and c.sentence_weight else None
            for chunk_id in fused:
                dense_score = chunks[chunk_id].score
                position = index.position.get(chunk_id)
                if position is not None and best is not None and best[position] > -1.0:
                    t = c.sentence_weight
                    dense_score = (1 - t) * dense_score + t * float(best[position])
                if position is not None and position < len(self._leads):
                    dense_score -= c.lead_penalty * float(self._leads[position])
                fused[chunk_id] += c.dense_weight * dense_score
                if topic is not None and position is not None and position < len(topic):
                    topics[chunk_id] = float(topic[position])
                    fused[chunk_id] += c.topic_weight * topics[chunk_id]

        order = sorted(fused, key=lambda i: (-fused[i], -chunks[i].score))
        selected: list[Scored] = []
        kept_vectors: list[np.ndarray] = []
        kept_texts: set[str] = set()
        for chunk_id in order:
            chunk = chunks[chunk_id]
            text_key = " ".join(chunk.text.lower().split())
            vec = chunk.embedding
            if c.deduplicate and text_key in kept_texts:
                continue
            if (
                c.deduplicate
                and vec is not None
                and any(float(vec @ v) >= c.duplicate_cosine for v in kept_vectors)
            ):
                continue
            # flagged at ingest are never candidates; this catches chunks stored before the
            # flagger learnt a rule (unchanged documents are not re-read on ingest)
            trusted = self.trusted
            if trusted is not None and (own := chunk.metadata.get("own_host")):
                trusted = trusted.with_own(str(own))
            if untrusted.looks_like_instructions(chunk.text, trusted):
                continue
            position = index.position.get(chunk_id)
            coverage = index.coverage(terms, position) if position is not None else 0.0
            selected.append(
                Scored(chunk, chunk.score, fused[chunk_id], coverage, topics.get(chunk_id))
            )
            kept_texts.add(text_key)
            if vec is not None:
                kept_vectors.append(vec)
            if len(selected) == k:
                break
        dense_top = max((hit.score for hit in dense), default=-1.0)
        heading_top = self._heading_top(selected[: c.heading_passages], vector)
        return Ranking(searched, selected, dense_top, index.unseen(terms), heading_top)

    def _heading_top(self, passages: list[Scored], vector: np.ndarray) -> float:
        """Best cosine between the query and the "title: heading" of `passages` (-1: off)."""
        if not self.config.heading_weight or not passages:
            return -1.0
        return self._headings.top(passages, vector)

    def _dense(
        self,
        index: LexicalIndex,
        vector: np.ndarray,
        n: int,
        filters: Filters | None,
        mask: np.ndarray | None,
    ) -> list[StoredChunk]:
        """Nearest chunks by cosine: exact, in memory, when the index holds the vectors."""
        if index.vectors is None:
            hits = self.store.query(vector, n, where=where_clause(filters), with_embeddings=True)
            c = self.config
            return blend_hits(
                self.store,
                hits,
                vector,
                label_weight=c.label_weight,
                question_weight=c.question_weight,
            )
        if not len(index):
            return []
        scores = self._extras.score_all(
            index.vectors @ vector,
            vector,
            label_weight=self.config.label_weight,
            question_weight=self.config.question_weight,
        )
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        n = min(n, int(np.count_nonzero(np.isfinite(scores))))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [
            StoredChunk(
                id=index.ids[i],
                text=index.texts[i],
                metadata=index.metadatas[i],
                score=float(scores[i]),
                embedding=index.vectors[i],
            )
            for i in top
        ]

    def _lexical_index(self) -> LexicalIndex:
        with self._lock:
            now = time.monotonic()
            if self._index is not None and now - self._checked_at < self.config.revision_ttl_s:
                return self._index
            revision = self.store.revision()
            self._checked_at = now
            if self._index is None or revision != self._revision:
                if ensure_embedder(self.store, self.embedder):  # built by another model
                    revision = self.store.revision()
                in_memory = self.store.count() <= self.config.in_memory_max_chunks
                rows = list(
                    self.store.iter_chunks(where={"flagged": False}, with_embeddings=in_memory)
                )
                phrasings: Phrasings = {}
                if any(r.metadata.get("kind") == "qa" for r in rows):
                    for chunk_id, text, vec in self.store.phrasings(with_embeddings=in_memory):
                        phrasings.setdefault(chunk_id, []).append((text, vec))
                self._index = LexicalIndex(
                    [r.id for r in rows],
                    [index_text(r, [t for t, _ in phrasings.get(r.id, [])]) for r in rows],
                    [r.metadata for r in rows],
                    texts=[r.text for r in rows],
                    vectors=(
                        np.stack([r.embedding for r in rows]).astype(np.float32)  # type: ignore[misc]
                        if in_memory and rows
                        else (np.zeros((0, 0), np.float32) if in_memory else None)
                    ),
                )
                headings = self._headings.rebuild(self._index, in_memory)
                self._extras = (
                    DenseExtras.build(self._index, headings, phrasings)
                    if headings is not None
                    else DenseExtras()
                )
                self._sentences = (
                    embed_sentences(self.embedder, self._index, max_units=self.config.max_sentences)
                    if in_memory and self.config.sentence_weight
                    else None
                )
                self._leads = lead_sections(self._index.metadatas)
                self._revision = revision
            return self._index


__all__ = [
    "Filters",
    "HybridRetriever",
    "RetrievalConfig",
    "Scored",
    "answerability_score",
    "metadata_matches",
    "passage_title",
]
