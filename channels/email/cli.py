"""`support-agent email`: one IMAP pass by hand, and `process FILE.eml...` to see what the channel
would do with a message (parse, loop guard, threading, agent, gate), one JSON line per file.

`--dry-run` writes and sends nothing: on SQLite the turn runs against a throw-away copy of the
database (in a temporary folder, deleted afterwards); on PostgreSQL every session runs on one
connection inside one outer transaction, each of the inbound path's own transactions a SAVEPOINT
in it, and the outer transaction is rolled back at the end. Either way the store's write calls
are refused, there is no Redis, no outbox worker runs (nothing is sent), and attachment files go
to the temporary folder."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from errors import BackendError, SupportAgentError

app = typer.Typer(help="The email channel: poll the mailbox, process .eml files.")

_WRITES = {"create_return", "cancel_order", "update_shipping_address"}


class ReadOnlyStore:
    """The configured store with its write calls refused (dry runs)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if name in _WRITES:

            async def refused(*_: Any, **__: Any) -> Any:
                raise BackendError("dry run: the store is not changed", retryable=False)

            return refused
        return getattr(self._store, name)


def _settings() -> Any:
    from settings import Settings

    return Settings()


@app.command("poll")
def poll() -> None:
    """One pass over the mailbox (SUPPORT_IMAP_*): handle new mail, send nothing by itself
    (replies wait in the outbox for `serve`), print how many messages were handled."""
    asyncio.run(_poll())


async def _poll() -> None:
    from channels.email.imap import ImapPoller
    from channels.email.inbound import EmailChannel
    from services import build_services

    settings = _settings()
    if not settings.imap_host or not settings.email_address:
        raise typer.BadParameter("set SUPPORT_EMAIL_ADDRESS and SUPPORT_IMAP_HOST first")
    services = await build_services(settings)
    try:
        handled = await ImapPoller(EmailChannel(services), services).poll_once()
    finally:
        await services.close()
    typer.echo(json.dumps({"handled": handled}))


@app.command("process")
def process(
    files: Annotated[list[Path], typer.Argument(help=".eml files", exists=True, dir_okay=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write and send nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per file")] = False,
) -> None:
    """Run each message through the whole inbound path and print what happened."""
    asyncio.run(_process(files, dry_run=dry_run, as_json=as_json))


async def _process(files: list[Path], *, dry_run: bool, as_json: bool) -> None:
    from channels.email.inbound import EmailChannel
    from services import _build_store, build_services

    settings = _settings()
    if not dry_run:
        services = await build_services(settings)
        try:
            await _run(EmailChannel(services), files, as_json=as_json)
        finally:
            await services.close()
        return
    scratch = Path(tempfile.mkdtemp(prefix="support-email-dry-"))
    try:
        store = ReadOnlyStore(await asyncio.to_thread(_build_store, settings))
        if settings.sqlalchemy_url.startswith("postgresql"):
            settings = settings.model_copy(update={"redis_url": None, "smtp_host": None})
            async with rolled_back(settings.sqlalchemy_url) as sessions:
                services = await build_services(settings, store=store, sessions=sessions)
                try:
                    await _run(EmailChannel(services, files_root=scratch), files, as_json=as_json)
                finally:
                    await services.close()
        else:
            settings = _scratch_settings(settings, scratch)
            services = await build_services(settings, store=store)
            try:
                await _run(EmailChannel(services, files_root=scratch), files, as_json=as_json)
            finally:
                await services.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@asynccontextmanager
async def rolled_back(url: str) -> AsyncIterator[Any]:
    """Sessions that all share one connection inside one transaction, rolled back on exit:
    a session's commit only releases its SAVEPOINT, so the inbound path runs unchanged."""
    from storage.engine import make_engine, make_sessionmaker
    from storage.migrate import upgrade

    engine = make_engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as connection:
            outer = await connection.begin()
            try:
                sessions = make_sessionmaker(engine)
                sessions.configure(bind=connection, join_transaction_mode="create_savepoint")
                yield sessions
            finally:
                await outer.rollback()
    finally:
        await engine.dispose()


async def _run(channel: Any, files: list[Path], *, as_json: bool) -> None:
    """Each file through the channel, one line (or JSON line) per file."""
    for path in files:
        try:
            outcome = (await channel.handle(path.read_bytes())).as_json()
        except SupportAgentError as exc:
            outcome = {"action": "ignore", "reason": f"error: {exc}"}
        line = {"file": str(path), **outcome}
        if as_json:
            typer.echo(json.dumps(line, ensure_ascii=False))
        else:
            typer.echo(f"{path}: {line['action']} ({line['reason']})")


def _scratch_settings(settings: Any, scratch: Path) -> Any:
    """The same settings over a copy of the database file (and its WAL), without Redis."""
    source = Path(settings.sqlalchemy_url.split("///", 1)[-1])
    target = scratch / source.name
    for suffix in ("", "-wal", "-shm"):
        if (candidate := Path(f"{source}{suffix}")).exists():
            shutil.copy2(candidate, Path(f"{target}{suffix}"))
    return settings.model_copy(
        update={
            "database_url": f"sqlite+aiosqlite:///{target}",
            "redis_url": None,
            "smtp_host": None,
        }
    )
