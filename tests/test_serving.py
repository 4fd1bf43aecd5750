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


def test_a_slow_starting_worker_is_not_killed_by_the_supervisor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's default health check (5 s) killed every starting worker of a crowded machine
    in a loop (bench/chaos.py): the workers get longer to answer."""
    import uvicorn

    import serving

    seen: dict[str, object] = {}

    async def prepared(_settings: Settings) -> None:
        return None

    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(app=app, **options))
    monkeypatch.setattr(serving, "_prepare", prepared)
    monkeypatch.setattr(serving, "_metrics_hook", lambda: None)
    settings = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0")
    serving.run(settings, host="127.0.0.1", port=1, workers=2, env={})
    assert seen["app"] == "server:create_app" and seen["workers"] == 2
    assert seen["timeout_worker_healthcheck"] == serving.WORKER_HEALTHCHECK_S >= 30
    assert seen["ws_per_message_deflate"] is False  # small frames: compressing costs CPU


def _write_pid(settings: Settings) -> None:
    import os

    (settings.data_dir / "child.pid").write_text(str(os.getpid()))


def _fail(_settings: Settings) -> None:
    raise SystemExit(3)


def test_one_time_work_runs_in_a_child_process(tmp_path: Path) -> None:
    """The supervisor keeps none of the embedding model's memory: the warm-up is a process of
    its own, and a failed one stops `serve` before any worker starts."""
    import os

    from serving import once_in_a_child

    settings = Settings(data_dir=tmp_path)
    once_in_a_child(_write_pid, settings)
    child = int((tmp_path / "child.pid").read_text())
    assert child != os.getpid()
    with pytest.raises(ServeError, match="exit code 3"):
        once_in_a_child(_fail, settings)


def test_workers_find_the_help_center_embedded_before_they_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --workers N`: migrations, the demo store and the warm-up (help center vectors,
    fitted classifiers) happen once, in that order, before uvicorn starts any worker."""
    import uvicorn

    import serving

    order: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda _app, **_options: order.append("workers"))
    monkeypatch.setattr(serving, "_metrics_hook", lambda: None)
    monkeypatch.setattr(
        serving, "once_in_a_child", lambda target, _settings: order.append(target.__name__)
    )
    settings = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0", demo=False)
    serving.run(settings, host="127.0.0.1", port=1, workers=2, env={})
    assert order == ["warm_caches", "workers"]
    assert (tmp_path / "support.db").exists()  # migrated by the supervisor first
