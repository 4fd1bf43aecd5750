"""`serve --workers 2` on a fresh data dir: both workers open the embedded Chroma folder at the
same moment, and the one that opened second failed start-up with "database is locked" (which
stops uvicorn's whole supervisor; found by bench/chaos.py). Opening takes a lock between
processes, so a second opener waits instead."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import threading
from pathlib import Path

from knowledge.chroma import OPEN_LOCK, make_client
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
OPEN = (
    "import sys; from settings import Settings; from knowledge.chroma import make_client; "
    "c = make_client(Settings(data_dir=sys.argv[1])); c.get_or_create_collection('probe'); "
    "print('opened')"
)


def test_opening_waits_for_another_process_that_is_opening(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    settings.chroma_path.mkdir(parents=True)
    opened = threading.Event()
    with (settings.chroma_path / OPEN_LOCK).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as another worker does while Chroma opens
        thread = threading.Thread(target=lambda: (make_client(settings), opened.set()))
        thread.start()
        assert not opened.wait(1.0)  # still waiting for the lock
        fcntl.flock(held, fcntl.LOCK_UN)
    thread.join(60)
    assert opened.is_set()


def test_four_processes_open_a_fresh_folder_at_once(tmp_path: Path) -> None:
    """The lock never deadlocks openers, and every one of them gets a working client."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN, str(tmp_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, [err[-400:] for _, err in results]
    assert [out.strip() for out, _ in results] == ["opened"] * 4
    assert make_client(Settings(data_dir=tmp_path)).get_collection("probe") is not None
