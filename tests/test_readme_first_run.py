"""The first run a newcomer makes with the README's commands: scripts/setup.sh installs once per
mode and pyproject version, the test install also serves `start.sh` (the markers used to clear
each other, so start.sh and test.sh reinstalled torch after each other), and numpy goes in
with torch. pip is replaced by a stub that records its calls."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STUB = """#!/usr/bin/env bash
# stands in for .venv/bin/python: records pip calls, answers the import checks
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "pip $*" >> "$(dirname "$0")/../calls"; fi
exit 0
"""


def project(tmp_path: Path) -> Path:
    root = tmp_path / "clone"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(STUB)
    python.chmod(0o755)
    return root


def setup(root: Path, mode: str) -> list[str]:
    """The pip calls one run of setup.sh made."""
    calls = root / ".venv" / "calls"
    calls.unlink(missing_ok=True)
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(
        ["bash", "scripts/setup.sh", mode], cwd=root, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return calls.read_text().splitlines() if calls.exists() else []


def test_markers_do_not_fight(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = setup(root, "run")
    assert len(first) == 2 and "torch==2.13.0" in first[0]
    assert setup(root, "run") == []  # a restart installs nothing
    test = setup(root, "test")
    assert len(test) == 2 and ".[test]" in test[1]
    # the old bug: each script cleared the other's marker and reinstalled everything
    assert setup(root, "run") == [] and setup(root, "test") == [] and setup(root, "run") == []
    with (root / "pyproject.toml").open("a") as f:
        f.write("\n# a dependency changed\n")
    assert len(setup(root, "run")) == 2  # a new pyproject version installs again
    assert len(list((root / ".venv").glob(".installed-*"))) == 1  # old versions' markers go


def test_numpy_is_installed_with_torch(tmp_path: Path) -> None:
    root = project(tmp_path)
    torch_call = setup(root, "run")[0].split()
    assert torch_call.index("numpy") < torch_call.index("torch==2.13.0")


def test_the_server_log_at_info_has_no_library_debug_lines() -> None:
    """A library's own DEBUG-level handler on the root logger and alembic's plugin list at
    every start used to land in `serve`'s log."""
    import io
    import logging

    from logs import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stray = logging.StreamHandler(io.StringIO())  # what logging.basicConfig(DEBUG) installs
    stray.setLevel(logging.DEBUG)
    root.addHandler(stray)
    out = io.StringIO()
    try:
        configure_logging("INFO", stream=out)
        logging.getLogger("bm25s").setLevel(logging.DEBUG)
        logging.getLogger("bm25s").debug("tokenizing 42 documents")
        logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate")
        logging.getLogger("services").info("ready")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and '"message": "ready"' in lines[0]
    assert stray.stream.getvalue() == ""  # type: ignore[attr-defined]
