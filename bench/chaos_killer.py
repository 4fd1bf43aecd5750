"""The chaos of bench/chaos.py: SIGKILL a uvicorn worker at random moments and watch the
supervisor start a new one.

Workers are the supervisor's children found through /proc (multiprocessing's resource tracker is
a child too and is left alone). A worker is ready once its event loop watches the shared
listening socket: every worker inherits that socket when it starts, but registers it in its
epoll set only when start-up is over and it begins to accept (the socket's fd then shows as a
`tfd:` line in the epoll fd's /proc fdinfo). So each kill hits a worker that serves, and the
time until its replacement serves is measured per process, whatever the log says.

By default a kill waits until both workers serve, so one is always up (a crashed process in a
real deployment, not a dead site); `keep_one=False` also kills the last serving worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

RESTART_WAIT_S = 60.0  # uvicorn checks its workers every 0.5 s; a new process must appear by then
READY_WAIT_S = 600.0  # imports and model warm-up on a crowded machine


def worker_pids(supervisor: int) -> list[int]:
    """The supervisor's live worker processes (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        after = stat.rsplit(")", 1)[1].split()
        if int(after[1]) != supervisor or after[0] == "Z" or b"resource_tracker" in cmdline:
            continue
        found.append(int(entry.name))
    return sorted(found)


def listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(parts[9])
    return inodes


def accepting(pid: int, inodes: set[str]) -> bool:
    """The process's event loop watches the listening socket (see the module docstring)."""
    sockets, polls = set(), []
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    sockets.add(fd.name)
                elif target == "anon_inode:[eventpoll]":
                    polls.append(fd.name)
        for poll in polls:
            for line in Path(f"/proc/{pid}/fdinfo/{poll}").read_text().splitlines():
                if line.startswith("tfd:") and line.split()[1] in sockets:
                    return True
    except OSError:  # the process is gone
        return False
    return False


@dataclass
class Kill:
    at_s: float  # since the run started
    pid: int
    kind: str  # "worker" | "server"
    restarted_s: float | None = None  # until the supervisor had a new process
    ready_s: float | None = None  # until that process accepted connections


@dataclass
class Killer:
    """Kills workers of the server whose supervisor is `supervisor()` (it changes when the
    whole server is restarted) listening on `port`."""

    supervisor: Callable[[], int]
    port: int
    started: float  # monotonic start of the run
    every: tuple[float, float] = (3.0, 8.0)
    keep_one: bool = True  # kill only while another worker serves too (no outage)
    seed: int = 11
    # the whole server SIGKILLed once, instead of the kill with this number (None: never)
    server_kill: Callable[[], Awaitable[None]] | None = None
    server_kill_at: int | None = None
    kills: list[Kill] = field(default_factory=list)
    not_restarted: int = 0
    # when each worker was first seen accepting: a replacement may be killed again within the
    # same quarter second, before the restart's own watch looks at it
    ready_at: dict[int, float] = field(default_factory=dict)
    _watching: list[asyncio.Task[None]] = field(default_factory=list)

    def ready_workers(self) -> list[int]:
        inodes = listening_inodes(self.port)
        ready = [pid for pid in worker_pids(self.supervisor()) if accepting(pid, inodes)]
        now = time.monotonic()
        for pid in ready:
            self.ready_at.setdefault(pid, now)
        return ready

    async def wait_ready(self, stop: asyncio.Event, *, count: int = 1) -> bool:
        """Until `count` workers accept connections (False on stop or after READY_WAIT_S)."""
        deadline = time.monotonic() + READY_WAIT_S
        while time.monotonic() < deadline and not stop.is_set():
            if len(await asyncio.to_thread(self.ready_workers)) >= count:
                return True
            await asyncio.sleep(0.25)
        return False

    async def run(self, stop: asyncio.Event, *, max_kills: int | None = None) -> None:
        rng = random.Random(self.seed)
        while not stop.is_set() and (max_kills is None or len(self.kills) < max_kills):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(*self.every))
            if stop.is_set() or not await self.wait_ready(stop, count=2 if self.keep_one else 1):
                break
            if self.server_kill is not None and len(self.kills) == self.server_kill_at:
                await self.server_kill()
                continue
            ready = await asyncio.to_thread(self.ready_workers)
            if ready:
                self.kill_worker(rng.choice(ready))
        await self.settle()

    def kill_worker(self, victim: int) -> Kill:
        killed_at = time.monotonic()
        before = set(worker_pids(self.supervisor()))
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
        kill = Kill(round(killed_at - self.started, 1), victim, "worker")
        self.kills.append(kill)
        self._watching.append(asyncio.create_task(self._watch(kill, killed_at, before)))
        return kill

    async def _watch(self, kill: Kill, killed_at: float, before: set[int]) -> None:
        """Measures the supervisor's restart: a new process, then that process serving."""
        new: set[int] = set()
        while time.monotonic() - killed_at < RESTART_WAIT_S and not new:
            await asyncio.sleep(0.1)
            new = set(worker_pids(self.supervisor())) - before
        if not new:
            self.not_restarted += 1
            return
        kill.restarted_s = round(time.monotonic() - killed_at, 2)
        while time.monotonic() - killed_at < READY_WAIT_S:
            await asyncio.to_thread(self.ready_workers)
            seen = [self.ready_at[pid] for pid in new if pid in self.ready_at]
            if seen:
                kill.ready_s = round(min(seen) - killed_at, 1)
                return
            if not set(worker_pids(self.supervisor())) & new:
                return  # the replacement died before it served (not by our hand)
            await asyncio.sleep(0.25)

    async def settle(self) -> None:
        """Waits for the restarts under watch (each is bounded)."""
        await asyncio.gather(*self._watching, return_exceptions=True)

    def record_server_kill(self, pid: int, killed_at: float, ready_at: float | None) -> None:
        waited = None if ready_at is None else round(ready_at - killed_at, 1)
        self.kills.append(Kill(round(killed_at - self.started, 1), pid, "server", waited, waited))
