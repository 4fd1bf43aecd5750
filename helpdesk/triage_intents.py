"""How triage uses the engine's intent reading: the shape of a reading, the protocol of a reader,
and the many-to-one table from intent to triage category (`triage_intents.yaml`).

The reader is handed in by the composition root (helpdesk sits below the agent, so it never
imports the engine); a Triager without one classifies categories on its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
import yaml


@dataclass(frozen=True)
class IntentReading:
    """One message's intent, its confidence (1.0 when a rule decided) and the embedding the
    reader computed, which triage reuses instead of embedding the message again."""

    intent: str
    confidence: float
    vector: np.ndarray = field(compare=False, repr=False)


class IntentReader(Protocol):
    def read(self, texts: Sequence[str], languages: Sequence[str]) -> list[IntentReading]: ...

    def featurize(
        self, texts: Sequence[str], languages: Sequence[str], *, cache_dir: Path | None = None
    ) -> np.ndarray: ...


@cache
def intent_categories() -> dict[str, str]:
    """intent -> triage category."""
    raw = resources.files("helpdesk").joinpath("triage_intents.yaml").read_text("utf-8")
    return {str(k): str(v) for k, v in yaml.safe_load(raw).items()}
