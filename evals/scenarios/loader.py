"""Reads scenario files (`*.yaml` in a suite folder) into validated Scenario objects."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from evals.scenarios.model import Scenario, SuiteFile
from evals.scenarios.orders import placeholder_roots

SUITE_DIR = Path(__file__).resolve().parent
BUILTIN_NAMES = {"store"}  # {store.name}, {store.support_email}


class ScenarioError(ValueError):
    """A scenario file that does not load; the message names the file and the problem."""


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, BaseModel):
        for item in value.__dict__.values():
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def check_placeholders(scenario: Scenario) -> None:
    known = set(scenario.orders) | BUILTIN_NAMES
    texts = [*_strings(scenario.turns), *_strings(scenario.expect)]
    unknown = sorted({root for text in texts for root in placeholder_roots(text)} - known)
    if unknown:
        raise ScenarioError(
            f"{scenario.name}: placeholders {unknown} name no order of the scenario "
            f"(declare them under `orders:`)"
        )


def load_file(path: Path) -> list[Scenario]:
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
        suite = SuiteFile.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ScenarioError(f"{path.name}: {exc}") from exc
    for scenario in suite.scenarios:
        try:
            check_placeholders(scenario)
        except ScenarioError as exc:
            raise ScenarioError(f"{path.name}: {exc}") from exc
    return suite.scenarios


def load_suite(folder: Path | None = None, *, name_filter: str | None = None) -> list[Scenario]:
    """Every scenario in the folder's YAML files, in file then file order. `name_filter` is a
    glob or a substring of the name or a tag."""
    folder = folder or SUITE_DIR
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ScenarioError(f"no scenario files (*.yaml) in {folder}")
    scenarios: list[Scenario] = []
    seen: dict[str, str] = {}
    for path in files:
        for scenario in load_file(path):
            if scenario.name in seen:
                raise ScenarioError(
                    f"{path.name}: scenario {scenario.name!r} is also in {seen[scenario.name]}"
                )
            seen[scenario.name] = path.name
            scenarios.append(scenario)
    if name_filter:
        scenarios = [s for s in scenarios if _selected(s, name_filter)]
    return scenarios


def _selected(scenario: Scenario, pattern: str) -> bool:
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatch(scenario.name, pattern)
    return pattern in scenario.name or pattern in scenario.tags
