"""`support-agent staff`: staff console accounts — add, list, disable, change a password.

A password is never an argument (it would land in the shell history and the process list): it
is asked for twice at a prompt, or read from the first line of standard input with
`--password-stdin` for scripts."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from settings import Settings

app = typer.Typer(help="Staff console accounts: add, list, disable, passwd.", no_args_is_help=True)

T = TypeVar("T")
EmailArg = Annotated[str, typer.Argument(help="The staff member's email address")]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin"),
]


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Any]:
    from storage.engine import make_engine, make_sessionmaker
    from storage.migrate import upgrade

    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        await upgrade(engine)
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


def _write(work: Callable[[AsyncSession, Settings], Awaitable[T]]) -> T:
    """Runs `work` in one write transaction; an AccountError is a clean exit 1."""
    from console.accounts import AccountError

    async def run() -> T:
        settings = Settings()
        async with _database(settings) as sessions, sessions.begin() as session:
            return await work(session, settings)

    try:
        return asyncio.run(run())
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def _password(from_stdin: bool) -> str:
    from console.accounts import AccountError, check_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(password)
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    return password


@app.command("add")
def add(
    email: EmailArg,
    role: Annotated[str, typer.Option(help="agent or admin")],
    name: Annotated[str, typer.Option(help="The name the console shows")] = "",
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a staff account."""
    from console.accounts import create

    password = _password(password_stdin)

    async def work(session: AsyncSession, settings: Settings) -> Any:
        return await create(
            session, settings, email=email, role=role, password=password, name=name
        )

    member = _write(work)
    typer.echo(f"added {member.email} ({member.role}), id {member.id}")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """The staff accounts."""
    from console.accounts import list_members, member_json

    async def work(session: AsyncSession, _: Settings) -> list[dict[str, Any]]:
        return [member_json(m) for m in await list_members(session)]

    members = _write(work)
    if as_json:
        typer.echo(json.dumps(members, indent=2))
        return
    if not members:
        typer.echo("no staff accounts (add one: support-agent staff add EMAIL --role admin)")
    for m in members:
        state = "disabled" if m["disabled"] else "active"
        typer.echo(f"{m['email']:<40} {m['role']:<6} {state:<8} {m['name']}")


@app.command("disable")
def disable(email: EmailArg) -> None:
    """Disable an account; its sessions end at once."""
    from console.accounts import disable as disable_account

    async def work(session: AsyncSession, _: Settings) -> Any:
        return await disable_account(session, email)

    member = _write(work)
    typer.echo(f"disabled {member.email}; its sessions are ended")


@app.command("passwd")
def passwd(email: EmailArg, password_stdin: PasswordStdin = False) -> None:
    """Set a new password; the account's sessions end."""
    from console.accounts import set_password

    password = _password(password_stdin)

    async def work(session: AsyncSession, settings: Settings) -> Any:
        return await set_password(session, settings, email, password)

    member = _write(work)
    typer.echo(f"password changed for {member.email}; its sessions are ended")
