"""The `support-agent` command."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from logs import configure_logging

app = typer.Typer(help="Self-hosted AI customer support for online stores.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.")
app.add_typer(db_app, name="db")


@app.callback()
def _logging() -> None:
    """Every command logs JSON lines with personal data masked (serve raises the level)."""
    configure_logging("WARNING")


def _mount() -> None:
    from commerce.cli import app as store_app
    from knowledge.cli import app as kb_app

    app.add_typer(store_app, name="store", help="The demo store: seed, import, list orders.")
    app.add_typer(kb_app, name="kb", help="The help-center knowledge base.")
    from privacy_cli import app as privacy_app

    app.add_typer(privacy_app, name="privacy", help="Personal data: export, erase, retention.")
    from console.staff_cli import app as staff_app

    app.add_typer(staff_app, name="staff", help="Staff console accounts: add, list, disable.")
    from notifications.cli import app as notify_app

    app.add_typer(notify_app, name="notify", help="Order notifications: run a pass, opt-outs.")
    from channels.email.cli import app as email_app

    app.add_typer(email_app, name="email", help="The email channel: poll, process .eml files.")
    from helpdesk.cli import triage_command

    app.command(
        "triage", help="Triage a customer message: category, urgency, sentiment, language."
    )(triage_command)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    demo: Annotated[bool | None, typer.Option("--demo/--no-demo", help="Demo store page")] = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes (above 1 needs SUPPORT_REDIS_URL)")
    ] = 1,
) -> None:
    """Run the server: widget, chat socket and API."""
    from settings import Settings

    overrides: dict[str, Any] = {}
    if demo is not None:
        overrides["demo"] = demo
    settings = Settings(**overrides)
    configure_logging(settings.log_level)
    from serving import ServeError, run

    typer.echo(f"support-agent on http://{host or settings.host}:{port or settings.port}/")
    env = {"SUPPORT_DEMO": str(settings.demo).lower()}
    try:
        run(
            settings,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            env=env,
        )
    except ServeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def ask(
    text: Annotated[str | None, typer.Argument(help="The customer's message")] = None,
    conversation: Annotated[str | None, typer.Option(help="Continue this conversation")] = None,
    file: Annotated[
        Path | None, typer.Option(help="One message per line, each a new conversation")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Run one turn (or one per line of --file) in-process and print the result."""
    if (text is None) == (file is None):
        raise typer.BadParameter("give TEXT or --file, not both")
    messages = [text] if text is not None else _lines(file)
    asyncio.run(_ask(messages, conversation if text is not None else None, as_json))


def _lines(file: Path | None) -> list[str]:
    assert file is not None
    return [line for line in file.read_text("utf-8").splitlines() if line.strip()]


async def _ask(messages: list[str], conversation: str | None, as_json: bool) -> None:
    from channels.summary import collect, turn_json
    from errors import ProtocolError
    from services import build_services
    from settings import Settings

    services = await build_services(Settings())
    failed = False
    try:
        for message in messages:
            try:
                result = await collect(
                    services.runner.run_turn(
                        text=message, channel="cli", conversation_id=conversation
                    )
                )
            except ProtocolError as exc:
                failed = True
                out: dict[str, Any] = {"error": {"code": exc.code, "message": exc.message}}
                typer.echo(json.dumps(out) if as_json else f"error: {exc.message}", err=not as_json)
                continue
            data = turn_json(result)
            if as_json:
                typer.echo(json.dumps(data, ensure_ascii=False, default=str))
            else:
                typer.echo(data["reply"] or f"(delivered to the team; owner: {data['owner']})")
                for c in data["citations"]:
                    typer.echo(f"  source: {c['title']} [{c['id']}]")
                typer.echo(f"  conversation: {data['conversation_id']}", err=True)
    finally:
        await services.close()
    if failed:
        raise typer.Exit(1)


@app.command("eval")
def eval_command(
    suite: Annotated[Path | None, typer.Option(help="Folder of scenario files")] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Runs per scenario (pass^k)")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    name_filter: Annotated[
        str | None, typer.Option("--filter", help="Scenario name glob, substring or tag")
    ] = None,
    fail_under: Annotated[
        float, typer.Option(help="Exit 1 when the pass rate is below this (0-1)")
    ] = 0.0,
    model: Annotated[
        str | None,
        typer.Option(help="Run on this OpenAI-compatible model (docs/models.md) and print its row"),
    ] = None,
) -> None:
    """Run the scenario evals (evals/scenarios/*.yaml) against the product, in process."""
    from evals.scenarios.loader import ScenarioError
    from evals.scenarios.main import evaluate, render

    report: dict[str, Any] = {}
    try:
        result = asyncio.run(
            evaluate(suite=suite, k=k, name_filter=name_filter, model=model, report=report)
        )
    except ScenarioError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(render(result, as_json_output=as_json))
    if model:
        from agent.llm_report import HEADER, compatibility_row

        row = compatibility_row(
            model, passed=result.passed, total=len(result.results), report=report
        )
        typer.echo(f"\n{HEADER}\n{row}")
    if result.pass_rate < fail_under:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    from settings import Settings
    from storage.engine import make_engine
    from storage.migrate import current_revision, upgrade

    async def run() -> str | None:
        settings = Settings()
        settings.ensure_data_dir()
        engine = make_engine(settings.sqlalchemy_url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    typer.echo(f"database at revision {asyncio.run(run())}")


_mount()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
