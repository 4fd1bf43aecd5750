"""Offline language detection and keyword glosses for short customer messages.

Detection (en, es, fr, de, it, pt, nl) asks py3langid's model first (`triage_langid`); when it is
unsure (below 0.5) the stopwords and telltale characters of `triage_language.yaml` decide, and the
caller's default wins when there is no evidence at all ("ok", "#4410").

The gloss appends English words for the support vocabulary it recognises ("pedido" -> "order"),
so that the English embedding model behind triage sees what a non-English message is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from helpdesk.triage_langid import classify

LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl")

_ELISIONS = frozenset("l d j n m t s c qu dell all nell dall sull un".split())
_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
# Weak hints that only break ties between languages that share their stopwords.
_HINTS = {
    "ç": ("fr", "pt"),
    "é": ("fr", "es", "pt"),
    "è": ("fr", "it"),
    "à": ("fr", "it"),
    "ä": ("de",),
    "ö": ("de",),
    "ü": ("de", "fr"),
    "ê": ("fr", "pt"),
    "ó": ("es", "pt"),
}


@dataclass(frozen=True)
class _Profiles:
    stopwords: dict[str, frozenset[str]]
    chars: dict[str, str]
    exact: dict[str, dict[str, str]]  # language -> word -> English gloss
    prefixes: dict[str, tuple[tuple[str, str], ...]]  # language -> (prefix, gloss), longest first
    sentiment: dict[str, tuple[frozenset[str], tuple[str, ...]]]  # kind -> (words, prefixes)


@cache
def _profiles() -> _Profiles:
    raw = yaml.safe_load(
        resources.files("helpdesk").joinpath("triage_language.yaml").read_text("utf-8")
    )
    exact: dict[str, dict[str, str]] = {}
    prefixes: dict[str, tuple[tuple[str, str], ...]] = {}
    for lang, entries in raw["gloss"].items():
        exact[lang] = {k: str(v) for k, v in entries.items() if not k.endswith("*")}
        starred = [(k[:-1], str(v)) for k, v in entries.items() if k.endswith("*")]
        prefixes[lang] = tuple(sorted(starred, key=lambda kv: -len(kv[0])))
    return _Profiles(
        stopwords={
            lang: frozenset(str(w) for w in words) for lang, words in raw["stopwords"].items()
        },
        chars={lang: str(chars) for lang, chars in raw["chars"].items()},
        exact=exact,
        prefixes=prefixes,
        sentiment={
            kind: (
                frozenset(str(w) for w in words if not str(w).endswith("*")),
                tuple(str(w)[:-1] for w in words if str(w).endswith("*")),
            )
            for kind, words in raw["sentiment"].items()
        },
    )


def tokens(text: str) -> list[str]:
    """Lower-cased words of `text`, apostrophes normalised, digits and punctuation dropped.

    An elided French or Italian article also yields the word it is attached to: "l'abbonamento"
    gives "l'abbonamento" and "abbonamento".
    """
    found: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        token = token.replace("’", "'")
        found.append(token)
        head, apostrophe, tail = token.partition("'")
        if apostrophe and head in _ELISIONS and tail:
            found.append(tail)
    return found


def language_scores(text: str) -> dict[str, float]:
    """Evidence per language: stopword hits, plus 2 per telltale character, plus weak hints."""
    profiles = _profiles()
    words = tokens(text)
    lowered = text.lower()
    scores = {lang: float(sum(w in profiles.stopwords[lang] for w in words)) for lang in LANGUAGES}
    for lang, chars in profiles.chars.items():
        scores[lang] += 2.0 * sum(lowered.count(c) for c in chars)
    for char, langs in _HINTS.items():
        if char in lowered:
            for lang in langs:
                scores[lang] += 0.5
    return scores


_NOT_WORDS = re.compile(r"\S+@\S+|https?://\S+|#?\d\S*")
CONFIDENT = 0.5  # py3langid's probability above which its answer stands on its own
# ... except on three words or fewer, where its near-coin-flips ("how do i cancel" Italian at
# 0.51, "oder status?" German at 0.52) need a little more; and the default language wins when
# its stopwords outnumber the model's pick by two or more and the model is not sure
SHORT_WORDS, SHORT_CONFIDENT = 3, 0.55
EVIDENCE_MARGIN, SURE = 2.0, 0.95


def detect_language(text: str, *, default: str = "en") -> str:
    """The ISO 639-1 code of the language `text` is most likely written in.

    Returns `default` when nothing in the text points anywhere; when the model is unsure, the
    stopword evidence decides and prefers `default` on a tie.
    """
    plain = _NOT_WORDS.sub(" ", text)  # "ada@example.com" holds the Portuguese word "com"
    words = " ".join(tokens(plain))
    if not words:
        return default
    found, probability = classify(words, LANGUAGES)
    scores = language_scores(plain)
    needed = SHORT_CONFIDENT if len(words.split()) <= SHORT_WORDS else CONFIDENT
    if probability >= needed and (len(words) > 4 or max(scores.values()) > 0):
        if (
            found != default
            and probability < SURE
            and scores.get(default, 0.0) - scores[found] >= EVIDENCE_MARGIN
        ):
            return default
        return found
    # a word of four letters or fewer that is no language's stopword ("hmm", "huh"): the model's
    # guess on so few letters is noise, so only the evidence below counts
    best = max(scores.values())
    if best <= 0:
        return default
    winners = [lang for lang in LANGUAGES if scores[lang] == best]
    if default in winners:
        return default
    return found if found in winners else winners[0]


def gloss(text: str, language: str) -> str:
    """English words for the support vocabulary recognised in `text` (empty for English)."""
    profiles = _profiles()
    exact = profiles.exact.get(language)
    if not exact and not profiles.prefixes.get(language):
        return ""
    found: list[str] = []
    for word in tokens(text):
        meaning = (exact or {}).get(word)
        if meaning is None:
            meaning = next(
                (m for prefix, m in profiles.prefixes.get(language, ()) if word.startswith(prefix)),
                None,
            )
        if meaning is not None and meaning not in found:
            found.append(meaning)
    return " ".join(found)


def with_gloss(text: str, language: str) -> str:
    """`text` followed by its English gloss in parentheses, or `text` unchanged."""
    extra = gloss(text, language)
    return f"{text} ({extra})" if extra else text


_ASKS = re.compile(
    r"\?|\b(?:please|pls|plz|can you|could you|por favor|s'il vous|bitte|per favore)\b", re.I
)


def polarity(text: str) -> tuple[int, int]:
    """(positive, negative) sentiment-word hits in `text`, in any of the supported languages.

    Thanks count as positive only when the message asks for nothing ("thanks, all sorted").
    """
    sentiment = _profiles().sentiment
    lowered = text.lower()
    words = tokens(text)

    def hits(kind: str) -> int:
        exact, prefixes = sentiment[kind]
        phrases = sum(lowered.count(w) for w in exact if not w.isalpha())
        return phrases + sum(w in exact or w.startswith(prefixes) for w in words)

    positive = hits("positive")
    if not _ASKS.search(text):
        positive += hits("thanks")
    return positive, hits("negative")
