"""The statistical half of language detection: py3langid's naive Bayes model over byte n-grams,
restricted to the languages the shop's triage and replies know.

Chosen on short messages written for this project (evals/language/short_messages.txt, 170
messages of 1–8 words in en, es, fr, de, it, pt, nl): py3langid 95.9%, lingua 96.5%, the former
stopword count 84.1%; py3langid with the stopword count as a fallback below 0.5 confidence 98.8%.
lingua was no better and holds ~240 MB of models against py3langid's ~50 MB, so py3langid it is.
The model loads once per process (~0.7 s), on first use."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

_LOCK = threading.Lock()


@cache
def identifier(languages: tuple[str, ...]) -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    with _LOCK:
        found = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        found.set_languages(list(languages))
        # keep only the restricted model: the full one for 97 languages is ~25 MB more
        found.nb_ptc = np.ascontiguousarray(found.nb_ptc)
        found._full_model = (found.nb_ptc, found.nb_pc, found.nb_classes)
    return found


def classify(text: str, languages: Sequence[str]) -> tuple[str, float]:
    """(language, probability) among `languages` for `text`."""
    language, probability = identifier(tuple(languages)).classify(text)
    return str(language), float(probability)
