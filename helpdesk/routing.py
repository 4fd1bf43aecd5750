"""Team routing: triage category -> team, from a data file."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml


@cache
def _table() -> tuple[str, dict[str, str]]:
    data = yaml.safe_load(resources.files("helpdesk").joinpath("routing.yaml").read_text("utf-8"))
    return str(data["default"]), {str(k): str(v) for k, v in data["teams"].items()}


def team_for(category: str) -> str:
    default, teams = _table()
    return teams.get(category, default)
