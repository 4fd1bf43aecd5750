"""`serve --workers N`: refuses a multi-worker setup that could not deliver staff replies."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from serving import ServeError, check_workers
from settings import Settings


def test_more_than_one_worker_needs_redis(tmp_path: Path) -> None:
    check_workers(Settings(data_dir=tmp_path), 1)
    check_workers(Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0"), 2)
    with pytest.raises(ServeError, match="SUPPORT_REDIS_URL"):
        check_workers(Settings(data_dir=tmp_path), 2)
    with pytest.raises(ServeError):
        check_workers(Settings(data_dir=tmp_path), 0)


def test_serve_command_refuses_workers_without_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SUPPORT_REDIS_URL", raising=False)
    result = CliRunner().invoke(app, ["serve", "--workers", "2", "--port", "1"])
    assert result.exit_code == 2
    assert "SUPPORT_REDIS_URL" in result.output
    assert not (tmp_path / "support.db").exists()  # refused before touching anything
