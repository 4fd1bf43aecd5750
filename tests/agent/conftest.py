"""Agent fixtures: the offline engine's intent reader over the session's real embedder."""

from __future__ import annotations

from typing import Any

import pytest

from agent.local.intents import IntentClassifier


@pytest.fixture(scope="module")
def intents(embedder: Any) -> IntentClassifier:
    built = IntentClassifier(embedder)
    built.warm()
    return built
