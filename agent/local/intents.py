"""Intent classification: a few high-precision rules, then nearest examples by embedding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Any

import numpy as np
import yaml

_HUMAN = re.compile(
    r"\b(human|person|real (person|people|agent)|representative|rep|operator|manager|supervisor|"
    r"someone (real|from your team)|live agent|agent|staff|customer service)\b",
    re.IGNORECASE,
)
_HUMAN_VERB = re.compile(
    r"\b(talk|speak|chat|connect|transfer|get|want|need|put|escalate|reach)\b", re.IGNORECASE
)
_AFFIRM = re.compile(
    r"^\s*(yes|yeah|yep|yup|sure|ok|okay|please|please do|go ahead|do it|y|that would be great)"
    r"\b[\s!.,]*(please|thanks|thank you)?[\s!.]*$",
    re.IGNORECASE,
)
_DENY = re.compile(r"^\s*(no|nope|nah|no thanks|no thank you|not now|n)\b[\s!.,]*$", re.I)
_GREETING = re.compile(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening))\b[\s!.,]*$", re.I)
_THANKS = re.compile(r"^\s*(thanks|thank you|thx|ty|cheers)\b.{0,20}$", re.IGNORECASE)
_GOODBYE = re.compile(r"^\s*(bye|goodbye|see you|that's all)\b.{0,20}$", re.IGNORECASE)

_ACTION_RULES = [
    (
        "refund_status",
        re.compile(
            r"\b(where|status|when|haven'?t (got|received)|still no|didn'?t get)\b.{0,40}\brefund",
            re.I,
        ),
    ),
    ("cancel_request", re.compile(r"\bcancel\b(?!.{0,30}\b(policy|polic(y|ies)|how)\b)", re.I)),
    (
        "address_change",
        re.compile(
            r"\b(change|update|wrong|different|new|correct)\b.{0,30}\b(shipping |delivery )?"
            r"address\b",
            re.I,
        ),
    ),
    (
        "return_request",
        re.compile(
            r"\b((want|like|need|wish|going) to (return|send back|exchange)|return (the|my|"
            r"this|these|both|it|them|an? )|start a return|send (it|them) back|"
            r"exchange (the|my|it|them))",
            re.I,
        ),
    ),
]
_QUESTION = re.compile(r"^\s*(how|what|what's|whats|do you|does|is there|are there|why)\b", re.I)
_ENTITIES = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|#\s*\d+|\b\d{3,}\b")

MIN_SIMILARITY = 0.55
_MATRICES: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}


@dataclass(frozen=True)
class Intent:
    name: str
    score: float


class IntentClassifier:
    def __init__(self, embedder: Any, examples: dict[str, list[str]] | None = None) -> None:
        self._embedder = embedder
        self._examples = examples or _packaged_examples()

    @cached_property
    def _matrix(self) -> tuple[np.ndarray, list[str]]:
        labels = [name for name, texts in self._examples.items() for _ in texts]
        texts = [text for texts in self._examples.values() for text in texts]
        key = (id(self._embedder), tuple(texts))
        if key not in _MATRICES:  # one embedding pass per process and embedder
            _MATRICES[key] = self._embedder.embed(texts)
        return _MATRICES[key], labels

    def warm(self) -> None:
        _ = self._matrix

    def classify(self, text: str) -> Intent:
        if _HUMAN.search(text) and _HUMAN_VERB.search(text):
            return Intent("human_request", 1.0)
        for name, pattern in (
            ("affirm", _AFFIRM),
            ("deny", _DENY),
            ("greeting", _GREETING),
            ("thanks", _THANKS),
            ("goodbye", _GOODBYE),
        ):
            if pattern.match(text):
                return Intent(name, 1.0)
        if not _QUESTION.match(text):
            for name, pattern in _ACTION_RULES:
                if pattern.search(text):
                    return Intent(name, 1.0)
        matrix, labels = self._matrix
        scores = matrix @ self._embedder.embed([_ENTITIES.sub(" ", text)])[0]
        best = int(np.argmax(scores))
        score = float(scores[best])
        if score < MIN_SIMILARITY:
            return Intent("question", score)
        return Intent(labels[best], score)


def _packaged_examples() -> dict[str, list[str]]:
    text = resources.files("agent.local").joinpath("intents.yaml").read_text("utf-8")
    return {str(k): [str(v) for v in values] for k, values in yaml.safe_load(text).items()}
