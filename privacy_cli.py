"""`support-agent privacy`: a customer's data on request (export, erase) and the retention job
run by hand. Wiring only: the store resolves the email to customer ids, storage/privacy.py and
storage/retention.py do the work."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from settings import Settings

app = typer.Typer(help="Personal data: export, erase, retention.", no_args_is_help=True)

EmailArg = Annotated[str, typer.Argument(help="The customer's email address")]
CustomerOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--customer-id", help="Also this store customer id (when the store forgot the email)"
    ),
]


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    from storage.engine import make_engine, make_sessionmaker
    from storage.migrate import upgrade

    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        await upgrade(engine)
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def customer_ids(settings: Settings, email: str, extra: list[str] | None = None) -> list[str]:
    """The store's customers with orders under this email (a customer verifies only through an
    order, so these are everyone who could have been verified with it), plus `extra`. Empty
    when there are none: an email sender who never ordered is still found by their address."""
    from services import _build_store

    store = await asyncio.to_thread(_build_store, settings)
    try:
        orders = await store.list_orders(email=email.strip().lower(), limit=1000)
    finally:
        await store.close()
    return sorted({o.customer_id for o in orders} | set(extra or []))


async def _known(session: AsyncSession, email: str, ids: list[str]) -> None:
    """Exit 1 when neither the store nor our email records know this address."""
    from storage.privacy import customer_conversations

    if not ids and not await customer_conversations(session, [], [email]):
        typer.echo(f"no customer with the email {email!r} in the store or our mail", err=True)
        raise typer.Exit(1)


@app.command("export")
def export(
    email: EmailArg,
    output: Annotated[Path | None, typer.Option(help="Write the JSON here")] = None,
    customer_id: CustomerOpt = None,
) -> None:
    """Everything held about the customer with this email, as JSON."""
    from notifications.optout import email_hash
    from storage.privacy import export_customer

    async def run() -> dict[str, Any]:
        settings = Settings()
        ids = await customer_ids(settings, email, customer_id)
        async with _database(settings) as sessions, sessions() as session:
            await _known(session, email, ids)
            digest = email_hash(email, settings)  # an opt-out is kept under it
            data = await export_customer(session, ids, [email], address_digests=[digest])
        return {"email": email, **data}

    text = json.dumps(asyncio.run(run()), ensure_ascii=False, indent=2, default=str)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", "utf-8")
        typer.echo(f"written to {output}", err=True)


@app.command("erase")
def erase(
    email: EmailArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    customer_id: CustomerOpt = None,
) -> None:
    """Delete the customer's conversations (verified, or mailed from this address) and
    everything attached, attachment files included; anonymise their audit rows."""
    from storage.privacy import erase_customer, remove_files

    async def run(dry_run: bool) -> dict[str, Any]:
        settings = Settings()
        ids = await customer_ids(settings, email, customer_id)
        files: list[str] = []
        async with _database(settings) as sessions, sessions() as session:
            await _known(session, email, ids)
            counts = await erase_customer(session, ids, addresses=[email], files=files)
            # a preview does the same work and rolls it back, so its counts are exact
            await (session.rollback() if dry_run else session.commit())
        if not dry_run:  # the rows are gone for good: now their files
            await asyncio.to_thread(remove_files, settings.data_dir, files)
        return {"customer_ids": ids, **counts}

    if not yes:
        preview = asyncio.run(run(dry_run=True))
        _print(preview, as_json=False, heading="would erase")
        typer.confirm("Erase this customer's data?", abort=True)
    _print(asyncio.run(run(dry_run=False)), as_json=as_json, heading="erased")


@app.command("retention")
def retention(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count only, change nothing")] = False,
    days: Annotated[
        int | None, typer.Option(help="Override SUPPORT_RETENTION_DAYS for this run")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Run the retention job once (the server runs it daily)."""
    from storage.retention import run_retention

    async def run() -> dict[str, Any]:
        settings = Settings()
        async with _database(settings) as sessions:
            report = await run_retention(
                sessions,
                retention_days=settings.retention_days if days is None else days,
                dry_run=dry_run,
                files_root=settings.data_dir,
            )
        return {"cutoff": report.cutoff.isoformat(), "dry_run": dry_run, **report.counts}

    _print(asyncio.run(run()), as_json=as_json, heading="would delete" if dry_run else "done")


def _print(data: dict[str, Any], *, as_json: bool, heading: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    typer.echo(f"{heading}:")
    for key, value in data.items():
        if isinstance(value, list):
            value = ", ".join(map(str, value)) or "-"
        typer.echo(f"  {key}: {value}")
    tickets = data.get("helpdesk_tickets")
    if tickets:
        typer.echo("  (helpdesk tickets live in the helpdesk: erase them there)")
