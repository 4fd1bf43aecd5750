"""`support-agent notify ...`: one pass of notifications by hand, and staff opt-outs.

`notify run` polls the store and handles every due notice once; what it sends waits in the
outbox for `serve` (or the next `email` command's delivery) like every other side effect.
`--dry-run` does the whole pass inside a transaction that is rolled back: no row is written."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from notifications.runner import RunReport

app = typer.Typer(help="Proactive order notifications", no_args_is_help=True)


def _now(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def _run(dry_run: bool, now: datetime | None) -> RunReport:
    from notifications.runner import NotificationRunner
    from services import _build_store
    from settings import Settings
    from storage.engine import make_engine, make_sessionmaker
    from storage.migrate import upgrade

    settings = Settings()
    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    store = None
    try:
        await upgrade(engine)
        store = await asyncio.to_thread(_build_store, settings)
        runner = NotificationRunner(
            sessions=make_sessionmaker(engine),
            store=store,
            settings=settings,
            clock=(lambda: now) if now is not None else (lambda: datetime.now(UTC)),
        )
        return await runner.run_once(dry_run=dry_run)
    finally:
        if store is not None:
            await store.close()
        await engine.dispose()


@app.command()
def run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide, write nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per notification")] = False,
    now: Annotated[
        str | None, typer.Option(hidden=True, help="Run as if it were this ISO time")
    ] = None,
) -> None:
    """One pass: poll the store for order events and send the notices that are due."""
    report = asyncio.run(_run(dry_run, _now(now)))
    for sent in report.sent:
        if as_json:
            typer.echo(json.dumps(sent.as_json(), ensure_ascii=False))
        else:
            typer.echo(
                f"{sent.order:>8}  {sent.event:<17} {','.join(sent.channels):<14} {sent.template}"
            )
    waiting = ", ".join(f"{k} {v}" for k, v in sorted(report.deferred.items())) or "none"
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(report.skipped.items())) or "none"
    verb = "would send" if dry_run else "sent"
    typer.echo(
        f"{report.recorded} new events; {verb} {len(report.sent)}; deferred: {waiting}; "
        f"skipped: {skipped}",
        err=True,
    )


async def _opt_out(email: str) -> bool:
    from notifications.optout import email_hash, record_optout
    from settings import Settings
    from storage.engine import make_engine, make_sessionmaker
    from storage.migrate import upgrade

    settings = Settings()
    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine).begin() as session:
            return await record_optout(session, email_hash(email, settings), source="staff")
    finally:
        await engine.dispose()


@app.command("opt-out")
def opt_out(
    email: Annotated[str, typer.Argument(help="The customer's email address")],
) -> None:
    """Stop every notification to this address, from now on (stored as a keyed digest)."""
    if "@" not in email:
        typer.echo("that is not an email address", err=True)
        raise typer.Exit(2)
    added = asyncio.run(_opt_out(email))
    typer.echo("opted out" if added else "already opted out")
