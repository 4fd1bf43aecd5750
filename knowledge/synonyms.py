"""Store vocabulary: phrases customers and help centers use for the same thing.

A customer writes "take me off your mailing list"; the help center says "marketing emails".
The MiniLM embedding puts "mailing list" nearer to account deletion than to marketing emails,
and the keyword side sees no shared word. A synonym group names such phrases once:

    mailing list, newsletter, marketing emails, promotional emails

The analyser (`knowledge.lexical.analyse`) adds one group token to the terms of any text that
contains a phrase of the group, on both sides: the help center's chunks when the keyword index
is built, the question when it is searched, and the sentences the answer step compares with the
question. A phrase matches on its stemmed, stop-worded words in sequence ("marketing email" and
"Marketing Emails" alike). The original words stay, so a group only ever adds a match.

The groups in `synonyms.txt` (next to this file) are shipped; a store adds its own with
`SUPPORT_KB_SYNONYMS=/path/to/file` (same format: one group per line, phrases separated by
commas, `#` starts a comment). The file is read once per process: restart to change it."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_FILE = Path(__file__).with_name("synonyms.txt")
ENV = "SUPPORT_KB_SYNONYMS"
# group tokens cannot collide with a word: the analyser's words are [a-z0-9']
PREFIX = "~syn"
TOKEN = PREFIX + "{}"


def is_token(term: str) -> bool:
    """A group token, not a word."""
    return term.startswith(PREFIX)


class Synonyms:
    """Synonym groups, matched on analysed (stemmed) words."""

    def __init__(self, groups: Iterable[Sequence[str]], analyse: Callable[[str], list[str]]):
        self.groups: list[list[str]] = []
        # first stem of a phrase -> (the phrase's stems, its group token)
        self._starts: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for phrases in groups:
            phrases = [p.strip() for p in phrases if p.strip()]
            if len(phrases) < 2:
                continue
            token = TOKEN.format(len(self.groups))
            self.groups.append(phrases)
            for phrase in phrases:
                stems = tuple(analyse(phrase))
                # "sign in" is only "sign" once "in" goes (a stopword), and would match
                # "sign for a parcel": a phrase of several words needs several stems
                if len(stems) == 1 and len(phrase.split()) > 1:
                    log.warning("synonym phrase %r is too common to match on; skipped", phrase)
                    continue
                if stems:
                    self._starts.setdefault(stems[0], []).append((stems, token))

    def __len__(self) -> int:
        return len(self.groups)

    def tokens(self, stems: Sequence[str]) -> list[str]:
        """The group tokens of the phrases found in `stems`, each once, in order of appearance."""
        found: list[str] = []
        for i, stem in enumerate(stems):
            for phrase, token in self._starts.get(stem, ()):
                if token not in found and tuple(stems[i : i + len(phrase)]) == phrase:
                    found.append(token)
        return found


def parse(text: str) -> list[list[str]]:
    """One group per line, phrases separated by commas; `#` starts a comment."""
    groups = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            groups.append([p.strip() for p in line.split(",") if p.strip()])
    return groups


def load(analyse: Callable[[str], list[str]], path: str | Path | None = None) -> Synonyms:
    """The shipped groups, plus those of `path` (default: $SUPPORT_KB_SYNONYMS, if set)."""
    groups = parse(DEFAULT_FILE.read_text(encoding="utf-8"))
    extra = path if path is not None else os.environ.get(ENV) or None
    if extra:
        try:
            groups += parse(Path(extra).read_text(encoding="utf-8"))
        except OSError as exc:
            raise FileNotFoundError(
                f"{ENV} names {extra}, which cannot be read ({exc.strerror or exc})"
            ) from exc
    return Synonyms(groups, analyse)


@lru_cache(maxsize=1)
def active(analyse: Callable[[str], list[str]]) -> Synonyms:
    """The process's groups (read once)."""
    synonyms = load(analyse)
    log.info("synonym groups: %d", len(synonyms))
    return synonyms
