"""A real `support-agent serve` in a subprocess (demo page off, offline engine, its own data
dir), for attacks that must meet uvicorn itself: bodies streamed over a socket, WebSocket
handshakes, the server's memory read from /proc."""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

STAFF_TOKEN = "k3Y9-qTz7Lw2Rb8Nf5Hd1Vc6Xm4Pj0Gs-AeUo"  # 38 characters, valid in prod
STARTUP_S = 180


@dataclass
class Served:
    base_url: str
    host: str
    port: int
    pid: int
    log: Path

    def status(self, field: str) -> int:
        """A kB figure (VmRSS, VmHWM) of the server process."""
        text = Path(f"/proc/{self.pid}/status").read_text()
        found = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
        assert found, f"{field} missing from /proc/{self.pid}/status"
        return int(found.group(1))

    def reset_peak(self) -> None:
        """Sets VmHWM back to the current RSS (Linux clear_refs 5), so a later VmHWM is the
        peak reached by what happened in between, however briefly."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")


@contextmanager
def serve(tmp: Path, **env: str) -> Iterator[Served]:
    port = free_port()
    log = tmp / "server.log"
    environ = {
        **os.environ,
        "SUPPORT_ENV": "test",
        "SUPPORT_DATA_DIR": str(tmp / "data"),
        "SUPPORT_STAFF_TOKEN": STAFF_TOKEN,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        **env,
    }
    command = shutil.which("support-agent", path=str(Path(sys.executable).parent))
    assert command, "the support-agent script is not installed in this venv (pip install -e .)"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [command, "serve", "--no-demo", "--host", "127.0.0.1", "--port", str(port)],
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process, log)
        yield Served(base, "127.0.0.1", port, process.pid, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not start in {STARTUP_S} s:\n{log.read_text()}")


@dataclass
class Exchange:
    status: int | None  # None: the server closed without answering
    head: str
    body: bytes
    sent: int  # body bytes the server let us send before it answered or closed


def post_streamed(
    served: Served,
    path: str,
    *,
    total: int,
    headers: dict[str, str] | None = None,
    declared: int | None = None,
    chunk: int = 64 * 1024,
) -> Exchange:
    """POST `total` bytes of "a" to `path` over a raw socket, chunked unless `declared` gives
    a Content-Length (which may lie). Stops sending as soon as the server answers or closes;
    returns what it answered and how much it took."""
    head = [f"POST {path} HTTP/1.1", f"Host: {served.host}:{served.port}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    chunked = declared is None
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared}")
    sent = 0
    pending = memoryview(("\r\n".join(head) + "\r\n\r\n").encode())
    with socket.create_connection((served.host, served.port), timeout=30) as sock:
        sock.setblocking(False)
        try:
            while not _readable(sock):
                if not pending:
                    if sent >= total:
                        break
                    size = min(chunk, total - sent)
                    sent += size
                    piece = b"a" * size
                    if chunked:
                        piece = b"%x\r\n%s\r\n" % (size, piece)
                        piece += b"0\r\n\r\n" if sent >= total else b""
                    pending = memoryview(piece)
                try:
                    pending = pending[sock.send(pending):]
                except BlockingIOError:
                    select.select([sock], [sock], [], 5)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.setblocking(True)
        raw = _read_response(sock)
    if not raw:
        return Exchange(None, "", b"", sent)
    head_text, _, body = raw.partition(b"\r\n\r\n")
    status = int(head_text.split(b" ", 2)[1])
    return Exchange(status, head_text.decode("latin-1"), body, sent)


def _readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    sock.settimeout(10)
    try:
        while True:
            part = sock.recv(65536)
            if not part:
                break
            data += part
            head, sep, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if sep and length and len(body) >= int(length.group(1)):
                break
    except (ConnectionResetError, TimeoutError):
        pass
    return data


@contextmanager
def app_client(settings: Any, embedder: Any, triager: Any) -> Iterator[Any]:
    """The app in process (FastAPI TestClient) over the tiny store and canned help center."""
    from fastapi.testclient import TestClient

    from server import create_app
    from services import build_services
    from tests.fakes import CannedKnowledge, MemoryStore

    async def build() -> Any:
        return await build_services(
            settings, embedder=embedder, triager=triager, store=MemoryStore(),
            knowledge=CannedKnowledge(),
        )

    with TestClient(create_app(settings, build=build)) as client:
        yield client
