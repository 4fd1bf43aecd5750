"""`channels` and `console` never import each other (docs/architecture.md): what both need — the
services handle, the staff session, attachment lookups, pushes to the widget — lives beside
the composition root (web/, services.py) or below (storage/, bus.py). Imports inside functions
count too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imported(path: Path) -> set[str]:
    """Top-level package names this module imports, anywhere in it (relative imports are
    within the package and never cross)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def _crossings(package: str, forbidden: str) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)} imports {forbidden}"
        for path in (ROOT / package).rglob("*.py")
        if forbidden in _imported(path)
    )


def test_console_never_imports_channels() -> None:
    assert _crossings("console", "channels") == []


def test_channels_never_import_console() -> None:
    assert _crossings("channels", "console") == []


def test_the_walk_sees_both_kinds_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import channels.protocol\n"
        "def later():\n    from console.auth import Staff\n"
        "from . import sibling\n",
        "utf-8",
    )
    assert _imported(sample) == {"channels", "console"}
