"""notifications/ is a top-layer package (docs/architecture.md): nothing below it, and neither
channel, imports it, so a change there cannot reach into a turn, a tool or the store."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BELOW = ("agent", "tools", "commerce", "knowledge", "helpdesk", "storage", "channels", "web")
GROUND = ("settings.py", "errors.py", "bus.py", "masking.py", "metrics.py")


def imports_notifications(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        if any(n == "notifications" or n.startswith("notifications.") for n in names):
            lines.append(node.lineno)
    return lines


def _modules() -> list[Path]:
    found = [ROOT / name for name in GROUND]
    for package in BELOW:
        found += sorted((ROOT / package).rglob("*.py"))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_below_the_top_layer_imports_notifications(path: Path) -> None:
    assert imports_notifications(path) == []


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from notifications.runner import X\n", encoding="utf-8")
    assert imports_notifications(probe) == [2]
