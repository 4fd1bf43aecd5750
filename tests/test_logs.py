"""The JSON log lines: one object per line, extras kept, personal data masked in the message,
the extras and the exception text."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from logs import configure_logging
from tests.conftest import free_port


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("DEBUG", stream=stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _read(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_per_line_with_extras(lines: io.StringIO) -> None:
    log = logging.getLogger("support.test")
    log.info("turn done in %s", "conv-1", extra={"conversation_id": "c1", "ms": 12.5})
    log.warning("second\nline")
    records = _read(lines)
    assert [r["level"] for r in records] == ["INFO", "WARNING"]
    first = records[0]
    assert first["logger"] == "support.test" and first["message"] == "turn done in conv-1"
    assert first["conversation_id"] == "c1" and first["ms"] == 12.5
    assert str(first["time"]).endswith("+00:00")
    assert records[1]["message"] == "second\nline"


def test_messages_extras_and_exceptions_are_masked(lines: io.StringIO) -> None:
    log = logging.getLogger("support.test")
    log.info("verified %s at %s", "ada@example.com", "12 Elm Street, Portland 97201")
    log.info("lookup", extra={"email": "bob@example.com", "query": "call +1 503 555 0199"})
    try:
        raise ValueError("row (ada@example.com, 4111 1111 1111 1111) rejected")
    except ValueError:
        log.exception("insert failed for %s", "SW1A 1AA")
    text = lines.getvalue()
    for secret in (
        "ada@example.com",
        "bob@example.com",
        "12 Elm Street",
        "97201",
        "555 0199",
        "4111 1111 1111 1111",
        "SW1A 1AA",
    ):
        assert secret not in text
    records = _read(lines)
    assert records[0]["message"] == "verified a***@e***.com at [address], Portland [postal code]"
    assert records[1]["email"] == "b***@e***.com" and records[1]["query"] == "call [phone]"
    assert "ValueError" in str(records[2]["exception"]) and "[card]" in str(records[2]["exception"])


def test_configuring_twice_keeps_one_handler(lines: io.StringIO) -> None:
    again = io.StringIO()
    handler = configure_logging("INFO", stream=again)
    try:
        logging.getLogger("support.test").info("once")
        assert lines.getvalue() == ""
        assert [r["message"] for r in _read(again)] == ["once"]
        assert logging.getLogger("uvicorn.access").propagate is True
        assert logging.getLogger("uvicorn.access").handlers == []
    finally:
        logging.getLogger().removeHandler(handler)


def test_serve_writes_json_lines_uvicorn_included(tmp_path: Path) -> None:
    """A real `support-agent serve`: every line it writes to stderr is a JSON object, uvicorn's
    start-up and access lines included."""
    port = free_port()
    command = shutil.which("support-agent", path=str(Path(sys.executable).parent))
    assert command, "the support-agent script is not installed in this venv (pip install -e .)"
    env = {
        **os.environ,
        "SUPPORT_ENV": "test",
        "SUPPORT_DATA_DIR": str(tmp_path / "data"),
        "SUPPORT_DEMO_CUSTOMERS": "10",
        "SUPPORT_DEMO_ORDERS": "25",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    errors = tmp_path / "stderr.log"
    with errors.open("wb") as err:
        process = subprocess.Popen(
            [command, "serve", "--no-demo", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 240
        # uvicorn logs "Application startup complete" before it binds the socket and "Uvicorn
        # running on" after: waiting for the first one lost the race on a busy machine
        while "Uvicorn running on" not in errors.read_text():
            assert process.poll() is None, errors.read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        response = httpx.get(f"http://127.0.0.1:{port}/healthz?email=ada@example.com")
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    records = [json.loads(line) for line in errors.read_text().splitlines() if line.strip()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    by_logger = {r["logger"] for r in records}
    assert {"uvicorn.error", "uvicorn.access"} <= by_logger
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert "/healthz" in access[0]["message"]
    assert "ada@example.com" not in errors.read_text()
