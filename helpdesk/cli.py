"""`support-agent triage`: triage customer messages from the shell.

    support-agent triage "Where is my order #1042?" --json
    support-agent triage --file messages.txt          # one message per line -> one JSON line each

The embedding model loads inside the command, once, never at import, so `--help` stays instant.
The training examples' embeddings are cached in `<data_dir>/cache/`. A caller (or a test) may
hand in a ready `Triager` as `obj={"triager": ...}`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from helpdesk.triage import Triage, Triager

app = typer.Typer(help="Triage customer messages.", add_completion=False)

_BATCH = 64


@app.command("triage")
def triage_command(
    ctx: typer.Context,
    text: Annotated[str | None, typer.Argument(help="The customer message.")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="One message per line ('-' reads standard input)."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    vip: Annotated[bool, typer.Option("--vip", help="The customer is tagged VIP.")] = False,
    prior_contacts: Annotated[
        int, typer.Option(help="Times the customer wrote in the last 7 days.")
    ] = 0,
    misunderstandings: Annotated[int, typer.Option(help="Misunderstandings in a row.")] = 0,
    order_value: Annotated[str | None, typer.Option(help="Value of the order concerned.")] = None,
) -> None:
    """Category, urgency, sentiment and language of a message (or of each line of a file)."""
    if (text is None) == (file is None):
        raise typer.BadParameter("give either TEXT or --file, not both and not neither")
    if file is not None and str(file) != "-" and not file.is_file():
        raise typer.BadParameter(f"no such file: {file}", param_hint="--file")
    from helpdesk.triage import TriageContext

    context = TriageContext(
        order_value=Decimal(order_value) if order_value else None,
        vip=vip,
        prior_contacts_7d=prior_contacts,
        misunderstandings=misunderstandings,
    )
    triager = _triager(ctx)
    if text is not None:
        verdict = triager.triage(text, context)
        typer.echo(json.dumps(verdict.as_dict()) if json_out else _line(verdict))
        return
    assert file is not None
    for batch in _batches(_messages(file)):
        for verdict in triager.triage_many(batch, [context] * len(batch)):
            typer.echo(json.dumps(verdict.as_dict()))


def _triager(ctx: typer.Context) -> Triager:
    given = ctx.obj.get("triager") if isinstance(ctx.obj, dict) else None
    if given is not None:
        return given  # type: ignore[no-any-return]
    from errors import ConfigurationError
    from knowledge.embedder import make_embedder
    from services import build_triager  # the composition root wires in the intent reader
    from settings import Settings

    try:
        settings = Settings()
    except (ValueError, ConfigurationError):
        # triage needs no settings; the cache only saves a few seconds per run
        return build_triager(make_embedder(), None)
    return build_triager(make_embedder(settings.embedder), settings.data_dir / "cache")


def _messages(file: Path) -> Iterator[str]:
    """Non-blank lines of `file` (or standard input for '-'), stripped."""
    lines = sys.stdin if str(file) == "-" else file.open(encoding="utf-8")
    try:
        for line in lines:
            if line.strip():
                yield line.strip()
    finally:
        if lines is not sys.stdin:
            lines.close()


def _batches(messages: Iterator[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for message in messages:
        batch.append(message)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _line(verdict: Triage) -> str:
    return (
        f"{verdict.category}  urgency={verdict.urgency}  sentiment={verdict.sentiment}  "
        f"language={verdict.language}  confidence={verdict.confidence:.2f}"
        + (f"  signals={','.join(verdict.signals)}" if verdict.signals else "")
    )
