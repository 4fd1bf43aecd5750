"""The server under load: started as `support-agent serve` in a subprocess (`--spawn`), or found
by its listening port; its processes read from /proc (CPU seconds, RSS), all workers summed.

A spawned server gets every per-IP limit raised through SUPPORT_* variables: every simulated
customer connects from 127.0.0.1, so the limits meant for one visitor would refuse the fleet
after a few dozen turns (see BENCH_LIMITS)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# the per-IP and per-client limits (settings.py), raised far past what a run sends
BENCH_LIMITS = {
    "SUPPORT_WS_CONNECTIONS_PER_IP_PER_MIN": "1000000",
    "SUPPORT_WS_OPEN_PER_IP": "1000000",
    "SUPPORT_MESSAGES_PER_IP_PER_MIN": "1000000",
    "SUPPORT_VERIFY_FAILURE_LIMIT": "1000000",
    "SUPPORT_VERIFY_ALERT_THRESHOLD": "1000000",
    "SUPPORT_ESCALATIONS_PER_CLIENT_PER_HOUR": "1000000",
}
STARTUP_S = 600.0  # a fresh data dir generates the demo store and embeds the help center
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    url: str  # ws://127.0.0.1:PORT/ws/chat
    base: str  # http://127.0.0.1:PORT
    data_dir: Path | None
    root_pids: list[int] = field(default_factory=list)

    def pids(self) -> list[int]:
        """The server's processes now: the roots and all their descendants (uvicorn's workers,
        respawned ones included)."""
        return sorted(set(self.root_pids) | descendants(self.root_pids))

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids())

    def rss_mb(self) -> float:
        return sum(rss_kb(pid) for pid in self.pids()) / 1024


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) if found else 0


def descendants(roots: list[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def listening_pids(port: int) -> list[int]:
    """Processes holding the TCP socket that listens on `port` (every uvicorn worker shares
    it), found through /proc/net/tcp and the processes' file descriptors."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(parts[9])
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    found.append(int(entry.name))
                    break
    return found


def attach(url: str, data_dir: Path | None, pid: int | None) -> Server:
    """A server someone else started, on loopback only."""
    parsed = httpx.URL(url.replace("ws://", "http://", 1))
    if parsed.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("bench/load.py only drives a server on this machine's loopback")
    port = parsed.port or 80
    roots = [pid] if pid else listening_pids(port)
    return Server(url, f"http://127.0.0.1:{port}", data_dir, roots)


@contextlib.contextmanager
def spawn(
    *, port: int, data_dir: Path | None, workers: int | None, env: dict[str, str], log: Path
) -> Iterator[Server]:
    """`support-agent serve` with its own data dir (fresh unless given), the limits raised,
    stopped (SIGTERM, then SIGKILL of its process group) when the block ends."""
    made = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="bench-load-")) if made else data_dir
    assert folder is not None
    command = shutil.which("support-agent", path=str(Path(sys.executable).parent))
    base = [command] if command else [sys.executable, "-m", "cli"]
    args = [*base, "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        args += ["--workers", str(workers)]
    environ = {
        **os.environ,
        "SUPPORT_DATA_DIR": str(folder),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **BENCH_LIMITS,
        **env,
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            args, env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(
        f"ws://127.0.0.1:{port}/ws/chat", f"http://127.0.0.1:{port}", folder, [process.pid]
    )
    try:
        _wait_ready(server.base, process, log)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group of the server we started
            process.wait()
        if made:
            shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}); see {log}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"the server was not ready in {STARTUP_S:.0f} s; see {log}")
