"""Customer text as the rules and the classifier should see it: typos fixed against the store's
own vocabulary, and word stems for the rule layer.

"wher is my ordr" embeds far from "where is my order" and matches no rule; "cancelling" and
"canceled" are not the word "cancel". A word is corrected only when it is not an English word
(the 82,765 words of the frequency dictionary that ships with symspellpy, which knows "unhelpful",
"mailing", "wifi" and "ikea") nor common in the store's examples, and one store word is clearly
the closest (rapidfuzz optimal-string-alignment distance, which counts a swapped pair of letters
as one edit: "retrun" -> "return")."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from importlib import resources

import Stemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel

from knowledge.spelling import english_words

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_MIN_LENGTH = 4  # "u", "ur", "pls" are how people write; they are left alone
_COMMON = 3  # a store word seen this often in the examples is a real word, English or not
# how people write in chat, and the names of the trade: never "corrected"
_INFORMAL = frozenset(
    "cant dont didnt doesnt wont isnt arent wasnt havent hasnt couldnt shouldnt wouldnt thats "
    "whats wheres hows whos theres ive youre thanx thnx plz pls thx tysm hiya hii heya cya "
    "gonna wanna gotta lemme kinda dunno pkg asap gdpr ccpa paypal klarna afterpay venmo zelle "
    "sezzle affirm crypto bitcoin "
    "fedex usps dhl ups rma hoodie hoodies lol lmao omg idk btw ngl tbh".split()
)
_CACHE_LIMIT = 50_000  # customer text is unbounded; the correction memo must not be
# chat shorthand, written out before anything reads the words: "do u have a code" embeds far
# from "do you have a code" (read out of scope), and "can u cancel" should meet the same rules
_SHORTHAND = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "ya": "you",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "thnx": "thanks",
    "thanx": "thanks",
    "rn": "right now",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "wat": "what",
    "abt": "about",
    "b4": "before",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "msg": "message",
    "pkg": "package",
    "acct": "account",
    "im": "I'm",
    "ive": "I've",
    "idk": "I don't know",
}
_SHORT_WORD = re.compile(
    r"(?<![\w'#@.-])(?:" + "|".join(_SHORTHAND) + r")(?![\w'@-]|\.\w)", re.IGNORECASE
)


# written out only in lower case: "size R" is a size, "ship to BC" a province
_LOWER_ONLY = frozenset({"r", "bc"})


def _expand(match: re.Match[str]) -> str:
    word = match.group(0)
    if word.lower() in _LOWER_ONLY and not word.islower():
        return word
    return _SHORTHAND[word.lower()]


class TypoFixer:
    """Corrects words that are neither English nor the store's against the store's vocabulary.

    Args:
        vocabulary: the store's words (the intent examples), repeated as often as they occur:
            the more frequent word wins a tie. Only its English words are used as corrections.
        known: English words, never corrected; default `dictionary_words()`.
    """

    def __init__(self, vocabulary: Iterable[str], known: frozenset[str] | None = None) -> None:
        english = dictionary_words() if known is None else known
        seen = Counter(w.lower() for w in vocabulary if w.isalpha() and len(w) >= _MIN_LENGTH)
        # the examples hold typos on purpose ("wher is my ordr"): a store word is a correction
        # only if it is English or common in the examples ("refund" is not in the model's
        # whole-word vocabulary)
        common = {w for w, n in seen.items() if n >= _COMMON}
        self._frequency = Counter({w: n for w, n in seen.items() if w in english or w in common})
        self._words = sorted(self._frequency)
        self._known = english | common | _INFORMAL
        self._memo: dict[str, str | None] = {}

    def knows(self, word: str) -> bool:
        """An English word, a word of the store's examples, or one of how people write."""
        return word.lower() in self._known

    def fix(self, text: str) -> str:
        """`text` with chat shorthand written out ("u" -> "you") and misspelt words replaced;
        everything else (case, digits, emails) kept."""
        text = _SHORT_WORD.sub(_expand, text)
        return _WORD.sub(lambda m: self._fix_word(m.group(0)), text)

    def _fix_word(self, word: str) -> str:
        lower = word.lower()
        if len(lower) < _MIN_LENGTH or "'" in lower or lower in self._known:
            return word
        if lower not in self._memo:
            if len(self._memo) > _CACHE_LIMIT:
                self._memo.clear()
            self._memo[lower] = self._closest(lower)
        return self._memo[lower] or word

    def _closest(self, word: str) -> str | None:
        limit = 1 if len(word) < 9 else 2  # two edits in a short word reach a different word
        found = process.extract(
            word, self._words, scorer=OSA.distance, score_cutoff=limit, limit=None
        )
        if not found:
            return None
        ranked = sorted(found, key=lambda hit: self._rank(word, hit[0], hit[1]))
        best = ranked[0]
        if len(ranked) > 1 and self._rank(word, *ranked[1][:2]) == self._rank(word, *best[:2]):
            return None  # two equally good corrections: leave the word as written
        return str(best[0])

    def _rank(self, word: str, candidate: str, edits: float) -> tuple[float, ...]:
        # fewest edits; then the same letters swapped ("waht": "what" over "want"); then the
        # fewest insertions and deletions ("wher": "where" over "when"); then the commoner word
        return (
            edits,
            float(sorted(word) != sorted(candidate)),
            Indel.distance(word, candidate),
            -self._frequency[candidate],
        )


@cache
def dictionary_words() -> frozenset[str]:
    """English words: symspellpy's frequency dictionary and the embedding model's whole words."""
    path = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt")
    with path.open("r", encoding="utf-8") as lines:
        words = {line.split(" ", 1)[0] for line in lines}
    return frozenset(words | english_words())


@cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def stems(text: str) -> str:
    """Lower-cased word stems joined by single spaces: "I'm cancelling it" -> "i'm cancel it".

    Rules match on this form, so one pattern covers "cancel", "cancels", "cancelled",
    "canceled", "cancelling" and "cancellation"."""
    tokens = _TOKEN.findall(text.lower().replace("’", "'"))
    return " ".join(_stemmer().stemWords(tokens))
