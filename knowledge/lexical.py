"""Keyword side of retrieval: an English analyser and an in-memory BM25 index (bm25s).

The index is rebuilt from the store when the store's revision changes; at 10,000 chunks that takes
about a second, and a query costs a millisecond or two.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from knowledge import synonyms
from knowledge.spelling import SpellingFixer, corpus_words

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Words that carry no topic in support questions, on top of the usual English stopwords.
_EXTRA_STOPWORDS = {
    "hi", "hello", "hey", "thanks", "thank", "please", "pls", "plz", "can", "could", "would",
    "will", "do", "does", "did", "i", "im", "i'm", "my", "me", "you", "your", "we", "our", "us",
    "get", "got", "want", "need", "know", "tell", "let", "ok", "okay", "just", "still", "yet",
    "there", "any", "anything", "something", "so", "also", "much", "many", "ve", "ll", "s", "t",
}  # fmt: skip


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | _EXTRA_STOPWORDS


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased, stop-worded, Snowball-stemmed words."""
    stop = _stopwords()
    found = [w.replace("'", "") for w in _TOKEN.findall(text.lower())]
    found = [w for w in found if w not in stop and (len(w) > 1 or w.isdigit())]
    return list(_stemmer().stemWords(found)) if found else []


def analyse(text: str) -> list[str]:
    """The text's words, then a token for each synonym group one of its phrases is in
    (knowledge/synonyms.py): "mailing list" and "marketing emails" share one."""
    stems = words(text)
    return stems + synonyms.active(words).tokens(stems) if stems else stems


class LexicalIndex:
    """BM25 over a fixed list of chunks, plus the term statistics the confidence uses."""

    def __init__(
        self,
        ids: Sequence[str],
        index_texts: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]],
        texts: Sequence[str] | None = None,
        vectors: np.ndarray | None = None,
    ) -> None:
        """Index `index_texts`; `texts` (default: the same) is what search results show.

        `vectors`, one normalised row per chunk, lets the retriever search densely in memory.
        """
        import bm25s

        self.vectors = vectors
        self.ids = list(ids)
        self.texts = list(texts if texts is not None else index_texts)
        self.metadatas = [dict(m) for m in metadatas]
        self.position = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
        tokens = [analyse(t) for t in index_texts]
        self.spelling = SpellingFixer(corpus_words(index_texts))
        self.term_sets = [frozenset(t) for t in tokens]
        document_frequency: dict[str, int] = {}
        for terms in self.term_sets:
            for term in terms:
                document_frequency[term] = document_frequency.get(term, 0) + 1
        n = max(len(self.ids), 1)
        self._idf = {t: _idf(df, n) for t, df in document_frequency.items()}
        self._unseen_idf = _idf(0, n)
        self._bm25 = bm25s.BM25()
        if self.ids:
            self._bm25.index([t or [""] for t in tokens], show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self, terms: Sequence[str], k: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Indices and BM25 scores of the best `k` chunks that contain at least one term."""
        if not self.ids or not terms:
            return []
        scores = np.asarray(self._bm25.get_scores(list(terms)), dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, int(np.count_nonzero(scores > 0)))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top]

    def _known(self, terms: Sequence[str]) -> list[str]:
        """The terms, without synonym-group tokens this help center never uses: a group says
        two phrases mean the same, not that the question holds one more unknown word."""
        return [t for t in terms if t in self._idf or not synonyms.is_token(t)]

    def unseen(self, terms: Sequence[str]) -> float:
        """Share of the query's terms that no chunk contains (0..1; 1 for no terms)."""
        terms = self._known(terms)
        if not terms:
            return 1.0
        return sum(1 for t in terms if t not in self._idf) / len(terms)

    def coverage(self, terms: Sequence[str], index: int) -> float:
        """IDF-weighted share of the query's terms found in chunk `index` (0..1).

        Terms the corpus has never seen weigh the most, so a question about something the help
        center never mentions ("the capital of Peru") covers little of any chunk.
        """
        unique = set(self._known(terms))
        if not unique:
            return 0.0
        weights = {t: self._idf.get(t, self._unseen_idf) for t in unique}
        present = self.term_sets[index]
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in present) / total if total else 0.0

    def matches(self, filters: Mapping[str, Any] | None) -> np.ndarray | None:
        """Boolean mask of chunks whose metadata satisfy `filters` (None: all)."""
        if not filters:
            return None
        return np.array([metadata_matches(m, filters) for m in self.metadatas], dtype=bool)


def metadata_matches(metadata: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    for key, wanted in filters.items():
        value = metadata.get(key)
        if isinstance(wanted, list | tuple | set | frozenset):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


def _idf(df: int, n: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))
