"""`support-agent kb ...`: ingest, search and manage the help-center knowledge base.

Settings and models are built inside each command, never at import, so `--help` stays instant.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase
    from knowledge.types import IngestReport, SearchResult

app = typer.Typer(help="Help-center knowledge base: ingest, search, manage.", no_args_is_help=True)

StoreOption = Annotated[str | None, typer.Option("--store", help="Store id: its own collection.")]
LanguageOption = Annotated[
    str | None, typer.Option("--language", help="Language code: its own collection.")
]
_SHOWN_SKIPS = 20


def _knowledge_base(store_id: str | None = None, language: str | None = None) -> KnowledgeBase:
    from knowledge.base import build_knowledge_base
    from knowledge.embedder import MiniLMEmbedder
    from settings import Settings

    settings = Settings()
    settings.ensure_data_dir()
    return build_knowledge_base(
        settings, MiniLMEmbedder(backend=settings.embedder), store_id=store_id, language=language
    )


def _rank_with_intents(kb: KnowledgeBase) -> None:
    """Give the knowledge base the agent's intent reader, so `kb search` ranks as chat does."""
    from agent.local.intents import IntentClassifier
    from settings import Settings

    kb.use_topics(IntentClassifier(kb.embedder, cache_dir=Settings().data_dir / "cache"))


def report_lines(report: IngestReport) -> list[str]:
    """The human summary of an ingest run."""
    lines = [
        f"documents: {report.documents_seen} seen, {report.documents_added} added, "
        f"{report.documents_updated} updated, {report.documents_unchanged} unchanged, "
        f"{report.documents_removed} removed",
        f"chunks embedded: {report.chunks_added}"
        + (f" ({report.chunks_flagged} flagged as instructions)" if report.chunks_flagged else ""),
    ]
    if report.demo_removed:
        lines.append(
            f"the demo help center ({report.demo_removed} articles) was removed: "
            "your own help center replaces it"
        )
    if report.own_host:
        lines.append(
            f"links and addresses on {report.own_host} read as the store's own (no store address "
            "is configured); set SUPPORT_SUPPORT_EMAIL or SUPPORT_ALLOWED_LINK_DOMAINS to pin it"
        )
    if report.skipped:
        reasons = Counter(reason for _, reason in report.skipped)
        lines.append(f"skipped: {len(report.skipped)}")
        shown = report.skipped[:_SHOWN_SKIPS]
        lines.extend(f"  {where}: {reason}" for where, reason in shown)
        if len(report.skipped) > len(shown):
            summary = ", ".join(f"{n} × {reason}" for reason, n in reasons.most_common(5))
            lines.append(f"  ... and {len(report.skipped) - len(shown)} more ({summary})")
    return lines


def result_json(result: SearchResult) -> dict[str, object]:
    """The JSON shape of one search, as printed by `kb search --json`."""
    return {
        "query": result.query,
        "results": [
            {
                "id": p.id,
                "title": p.title,
                "text": p.text,
                "score": round(p.score, 4),
                "source": p.source,
            }
            for p in result.passages
        ],
        "answerable": result.answerable,
    }


@app.command()
def ingest(
    targets: Annotated[
        list[str], typer.Argument(help="Files, folders, page URLs or sitemap URLs.")
    ],
    prune: Annotated[
        bool, typer.Option(help="Delete stored documents that the targets no longer produce.")
    ] = False,
    max_pages: Annotated[int, typer.Option(min=1, help="Crawl at most this many pages.")] = 200,
    store: StoreOption = None,
    language: LanguageOption = None,
) -> None:
    """Ingest Markdown, HTML, PDF, text and Q&A (CSV, JSON, JSON lines, YAML) files, folders
    and sites.

    Unchanged documents are not embedded again; unusable inputs are listed and skipped.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    kb = _knowledge_base(store, language)
    kb.max_pages = max_pages
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed} chunks embedded"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("ingesting", total=None)

        def tick(message: str, chunks: int) -> None:
            progress.update(task, advance=chunks, description=message[:60])

        report = kb.ingest(targets, prune=prune, progress=tick)
    for line in report_lines(report):
        typer.echo(line)


@app.command()
def search(
    query: Annotated[
        str | None, typer.Argument(help="A customer question (or use --queries).")
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="Passages to return.")] = 4,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one line per query).")
    ] = False,
    queries: Annotated[
        Path | None,
        typer.Option("--queries", help="File with one query per line ('-' for stdin)."),
    ] = None,
    store: StoreOption = None,
    language: LanguageOption = None,
) -> None:
    """Search the knowledge base the way the agent does."""
    if (query is None) == (queries is None):
        raise typer.BadParameter("give either QUERY or --queries FILE")
    if queries is not None:
        source = sys.stdin if str(queries) == "-" else queries.open(encoding="utf-8")
        lines = [line.strip() for line in source if line.strip()]
    else:
        lines = [str(query)]
    kb = _knowledge_base(store, language)  # models load once for all the queries
    if language in (None, "en"):  # the intent reader reads English
        _rank_with_intents(kb)  # as the agent searches (services.build_services)
    for line in lines:
        result = kb.search(line, k=k)
        if as_json:
            typer.echo(json.dumps(result_json(result), ensure_ascii=False))
        else:
            _print_result(result)


def _print_result(result: SearchResult) -> None:
    verdict = "answerable" if result.answerable else "not answerable"
    typer.echo(f"{verdict} (confidence {result.confidence:.2f}): {result.query}")
    for rank, passage in enumerate(result.passages, start=1):
        where = " > ".join(part for part in (passage.title, passage.heading) if part)
        typer.echo(f"{rank}. [{passage.score:.3f}] {where}  ({passage.source})")
        typer.echo(f"   {passage.text[:200].replace(chr(10), ' ')}")


@app.command("list")
def list_documents(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    store: StoreOption = None,
    language: LanguageOption = None,
) -> None:
    """List stored documents: id, kind, chunks, flagged chunks, title."""
    documents = _knowledge_base(store, language).documents()
    if as_json:
        rows = [
            {
                "id": d.doc_id,
                "title": d.title,
                "source": d.source,
                "kind": d.kind,
                "chunks": d.chunks,
                "flagged": d.flagged,
                "hash": d.content_hash,
            }
            for d in documents
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for d in documents:
        flag = f" ⚑{d.flagged}" if d.flagged else ""
        typer.echo(f"{d.doc_id}\t{d.kind}\t{d.chunks} chunks{flag}\t{d.title}")
    typer.echo(f"{len(documents)} documents")


@app.command()
def delete(
    doc_ids: Annotated[list[str], typer.Argument(help="Document ids (as `kb list` shows).")],
    store: StoreOption = None,
    language: LanguageOption = None,
) -> None:
    """Delete documents and their chunks."""
    kb = _knowledge_base(store, language)
    missing = 0
    for doc_id in doc_ids:
        removed = kb.delete(doc_id)
        if removed:
            typer.echo(f"deleted {doc_id} ({removed} chunks)")
        else:
            typer.echo(f"not found: {doc_id}", err=True)
            missing += 1
    if missing:
        raise typer.Exit(code=1)


@app.command()
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    store: StoreOption = None,
    language: LanguageOption = None,
) -> None:
    """Counts of documents and chunks, by kind, and documents flagged for instructions."""
    kb = _knowledge_base(store, language)
    s = kb.stats()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "collection": kb.store.collection_name,
                    "documents": s.documents,
                    "chunks": s.chunks,
                    "flagged_chunks": s.flagged_chunks,
                    "by_kind": s.by_kind,
                    "flagged_documents": s.flagged_documents,
                }
            )
        )
        return
    typer.echo(f"collection: {kb.store.collection_name}")
    typer.echo(f"documents: {s.documents} ({', '.join(f'{n} {k}' for k, n in s.by_kind.items())})")
    typer.echo(f"chunks: {s.chunks}")
    typer.echo(f"flagged chunks (kept out of answers): {s.flagged_chunks}")
    for doc_id in s.flagged_documents:
        typer.echo(f"  ⚑ {doc_id}")


@app.command()
def reindex(
    doc_ids: Annotated[
        list[str] | None, typer.Argument(help="Document ids (default: all of them).")
    ] = None,
    store: StoreOption = None,
    language: LanguageOption = None,
) -> None:
    """Read documents again from their files or URLs and embed them again."""
    report = _knowledge_base(store, language).reindex(doc_ids or None)
    for line in report_lines(report):
        typer.echo(line)
