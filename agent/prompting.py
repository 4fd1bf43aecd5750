"""Prompts are data files, loaded with importlib.resources."""

from __future__ import annotations

import string
from importlib import resources


def load_prompt(name: str) -> str:
    return resources.files("agent").joinpath("prompts", f"{name}.md").read_text("utf-8")


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def render_prompt(name: str, **values: str) -> str:
    return load_prompt(name).format(**values)
