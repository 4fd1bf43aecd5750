"""The understanding layer's replies (`phrases.yaml`): out of scope, clarifying questions,
complaints, feedback, delivery problems, and what the engine says in other languages."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import yaml

_PUNCTUATION = re.compile(r"[^\w\s']+")


@cache
def _phrases() -> dict[str, dict[str, Any]]:
    text = resources.files("agent.local").joinpath("phrases.yaml").read_text("utf-8")
    return {str(k): dict(v) for k, v in yaml.safe_load(text).items()}


def languages() -> tuple[str, ...]:
    """The languages other than English the engine can answer in."""
    return tuple(lang for lang in _phrases() if lang != "en")


def phrase(key: str, language: str = "en", **values: Any) -> str:
    """The reply `key` in `language`, English when that language lacks it."""
    table = _phrases().get(language, {})
    template = table.get(key, _phrases()["en"].get(key))
    if template is None:
        raise KeyError(f"no phrase {key!r}")
    return str(template).format(**values).strip()


def handoff_notice(language: str, timing: dict[str, Any] | None, english: str) -> str:
    """When a person will reply (tools/escalation.py's `timing`), in `language`; the English
    notice when the timing is missing or the language has no wording for it."""
    table = _phrases().get(language, {})
    if not timing or language == "en":
        return english
    if timing.get("online") and "notice_online" in table:
        return phrase("notice_online", language, minutes=timing["wait_minutes"])
    if not timing.get("online") and "notice_offline" in table:
        return phrase("notice_offline", language, back=timing["back"], zone=timing["zone"])
    return english


def language_name(language: str) -> str:
    return str(_phrases().get(language, {}).get("name", language))


def yes_or_no(text: str, language: str) -> str | None:
    """'yes' or 'no' when `text` is only that, in `language` (English words count too)."""
    said = " ".join(_PUNCTUATION.sub(" ", text.lower()).split())
    if not said:
        return None
    table = _phrases().get(language, {})
    for key, answer in (("affirm", "yes"), ("deny", "no")):
        if said in {str(w) for w in table.get(key, [])}:
            return answer
    return None
