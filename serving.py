"""Running the server: one process, or N worker processes behind one port.

N workers share the database (PostgreSQL for real load), Redis (the bus that carries staff
replies and approval outcomes to whichever worker holds the customer's socket, and the
throttles) and, for the help center, a Chroma server or the embedded store under its
inter-process lock. Singleton pollers run under database leases (storage/leases.py). One-time
work (migrations, the demo store) is done here, before the workers start, so they do not race."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from collections.abc import Callable
from typing import Any

from settings import Settings

WS_MAX_SIZE = 1 << 20
GRACEFUL_SHUTDOWN_S = 30  # turns in flight finish; sockets get 1012 (service restart)
# uvicorn's supervisor pings each worker and kills one that does not answer in time. Its default
# (5 s) killed every starting worker of a crowded 2-core machine over and over: the answering
# thread waits for the GIL while start-up imports and trains models (bench/chaos.py saw 36 kills
# in a row). A worker that is really hung is still replaced, after this long.
WORKER_HEALTHCHECK_S = 30
# permessage-deflate compresses every frame: 2-3% of the server's samples under load
# (py-spy --gil, bench/load.py saturation) for frames of a few hundred bytes on a site's own
# connection. Off, the browser and the reverse proxy simply do not negotiate it.
WS_PER_MESSAGE_DEFLATE = False


class ServeError(Exception):
    """The configuration cannot serve as asked (the message says what to set)."""


def check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise ServeError("--workers must be at least 1")
    if workers > 1 and not settings.redis_url:
        raise ServeError(
            "--workers above 1 needs SUPPORT_REDIS_URL: staff replies and approval outcomes "
            "must reach whichever worker holds the customer's socket"
        )


async def _prepare(settings: Settings) -> None:
    from storage.engine import make_engine
    from storage.migrate import upgrade

    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    if settings.demo and settings.store_backend == "demo":
        from commerce.demo.store import ensure_demo_store

        await asyncio.to_thread(ensure_demo_store, settings)
    # the help center embedded and the intent and triage models fitted once, before the
    # workers start: each worker then finds them on disk instead of embedding them again (N
    # times the CPU of a start, on the cores that are about to serve)
    await asyncio.to_thread(once_in_a_child, warm_caches, settings)


async def _demo_console_account(settings: Settings) -> None:
    """The demo's staff console works on the first start: an admin account if there is none,
    its password shown once here and kept in the data dir (console/accounts.py)."""
    from console.accounts import DEMO_ADMIN_EMAIL, DEMO_ADMIN_FILE, ensure_demo_admin
    from storage.engine import make_engine, make_sessionmaker
    from storage.migrate import upgrade

    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine).begin() as session:
            password = await ensure_demo_admin(session, settings)
    finally:
        await engine.dispose()
    path = settings.data_dir / DEMO_ADMIN_FILE
    if password is not None:
        sys.stderr.write(
            f"Staff console: /console, sign in as {DEMO_ADMIN_EMAIL} with password {password} "
            f"(kept in {path}; add your team with `support-agent staff add`)\n"
        )
    elif path.exists():
        sys.stderr.write(f"Staff console: /console, the demo admin's sign-in is in {path}\n")


def warm_caches(settings: Settings) -> None:
    """Builds the services once and closes them: what a worker's start would compute (the
    demo help center's vectors, the classifiers' fitted caches) is left in the data dir."""

    async def build() -> None:
        from services import build_services

        services = await build_services(settings)
        await services.close()

    asyncio.run(build())


def once_in_a_child(target: Callable[[Settings], None], settings: Settings) -> None:
    """Runs `target(settings)` in a fresh process (spawned, not forked: the supervisor keeps
    none of the model's memory, and no thread state is copied)."""
    child = multiprocessing.get_context("spawn").Process(target=target, args=(settings,))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise ServeError(f"preparing the data dir failed (exit code {child.exitcode}); see the log")


def run(settings: Settings, *, host: str, port: int, workers: int, env: dict[str, str]) -> None:
    """Serve until stopped. `env`: SUPPORT_* values the command line set, for the workers
    (each worker builds its Settings from the environment)."""
    import uvicorn

    check_workers(settings, workers)
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "ws_max_size": WS_MAX_SIZE,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_S,
        "ws_per_message_deflate": WS_PER_MESSAGE_DEFLATE,
        "log_config": None,  # our JSON, masked handler (logs.py)
    }
    if settings.demo:  # migrated first: one worker's app migrates at start-up otherwise
        asyncio.run(_demo_console_account(settings))
    if workers == 1:
        from server import create_app

        uvicorn.run(create_app(settings), **common)
        return
    asyncio.run(_prepare(settings))
    os.environ.update(env)
    prepare_metrics = _metrics_hook()
    if prepare_metrics is not None:
        prepare_metrics(settings)
    uvicorn.run("server:create_app", factory=True, workers=workers, **common)


def _metrics_hook() -> Any:
    """The multiprocess metrics directory is set up before the workers fork, if metrics exist."""
    try:
        from metrics import prepare_multiprocess  # type: ignore[attr-defined]
    except ImportError:
        return None
    return prepare_multiprocess
