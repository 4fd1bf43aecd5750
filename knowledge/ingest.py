"""Ingest files and folders into the chunk store, embedding only what changed.

A document whose content hash matches the stored one is skipped before chunking; a changed one
is embedded first and then swapped in place of its old chunks, so a failure midway never loses
what the store already had. Unusable inputs land in `IngestReport.skipped` with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from knowledge.chunking import (
    DEFAULT_MAX_CHARS,
    DEFAULT_OVERLAP,
    Chunk,
    chunk_markdown,
    content_hash,
    heading_label,
)
from knowledge.embedding_space import ensure_embedder
from knowledge.links import TrustedLinks, own_host
from knowledge.loaders import MAX_FILE_BYTES, Document, Skip, SkipDocument, iter_files, load_file
from knowledge.store import ChunkStore
from knowledge.types import DocumentChunks, Embedder, IngestReport

Progress = Callable[[str, int], None]  # (what just happened, chunks embedded by it)

_EMBED_BATCH = 256  # chunks embedded together across small documents


@dataclass
class _Run:
    report: IngestReport
    stored: dict[str, str]  # doc_id -> content hash before this run
    seen: set[str] = field(default_factory=set)
    protected: set[str] = field(default_factory=set)  # doc id prefixes prune must keep
    pending: list[_Pending] = field(default_factory=list)


@dataclass
class _Pending:
    document: Document
    chunks: list[Chunk]
    content_hash: str
    is_update: bool


class Ingester:
    """Loads, chunks, embeds and stores documents; one instance per ingest run is fine."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        *,
        max_chars: int = DEFAULT_MAX_CHARS,
        overlap: int = DEFAULT_OVERLAP,
        max_bytes: int = MAX_FILE_BYTES,
        progress: Progress | None = None,
        trusted: TrustedLinks | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.max_chars = max_chars
        self.overlap = overlap
        self.max_bytes = max_bytes
        self.progress = progress
        self.trusted = trusted  # where a chunk may send customers (None: links not checked)

    def ingest_paths(self, paths: Sequence[str | Path], *, prune: bool = False) -> IngestReport:
        """Ingest files and folders (recursively)."""
        return self.ingest_documents(self.load_paths(paths), prune=prune)

    def ingest_documents(
        self,
        documents: Iterable[Document | Skip],
        *,
        report: IngestReport | None = None,
        prune: bool = False,
        force: bool = False,
    ) -> IngestReport:
        """Ingest already-loaded documents; `Skip` items are recorded in `report.skipped`.

        `force` embeds documents again even when their content is unchanged (re-index).

        With `prune`, stored documents that were neither seen nor skipped in this run are
        deleted, so the store mirrors what was pointed at.
        """
        self.store.refresh()  # another process may have written: compare with what is stored
        ensure_embedder(self.store, self.embedder)  # never add vectors beside another model's
        run = _Run(report or IngestReport(), self.store.document_hashes())
        report = run.report
        # each store write stamps a new revision, which is how other processes notice
        self._ingest(documents, run, force=force)
        if prune:
            self._prune(run)
        return report

    def _ingest(self, documents: Iterable[Document | Skip], run: _Run, *, force: bool) -> None:
        report, seen, pending = run.report, run.seen, run.pending
        for item in documents:
            if isinstance(item, Skip):
                report.skipped.append((item.where, item.reason))
                seen.add(item.doc_id)  # a source that failed to load keeps what it had
                if item.protects is not None:
                    run.protected.add(item.protects)
                continue
            document = item
            if document.doc_id in seen:
                continue
            seen.add(document.doc_id)
            report.documents_seen += 1
            digest = content_hash(_hashed_text(document))
            previous = run.stored.get(document.doc_id)
            if previous == digest and not force:
                report.documents_unchanged += 1
                self._tick(f"unchanged {document.doc_id}", 0)
                continue
            chunks = chunk_markdown(
                document.markdown,
                doc_id=document.doc_id,
                source=document.source,
                fallback_title=document.title,
                max_chars=self.max_chars,
                overlap=self.overlap,
            )
            if not chunks:
                report.skipped.append((document.source, "no text content"))
                continue
            pending.append(_Pending(document, chunks, digest, is_update=previous is not None))
            if sum(len(p.chunks) for p in pending) >= _EMBED_BATCH:
                self._flush(pending, report)
                pending.clear()
        self._flush(pending, report)

    def _prune(self, run: _Run) -> None:
        for doc_id in sorted(set(run.stored) - run.seen):
            if any(doc_id.startswith(prefix) for prefix in run.protected):
                continue  # its source failed as a whole this time: keep it
            self.store.delete_document(doc_id)
            run.report.documents_removed += 1
            self._tick(f"removed {doc_id}", 0)

    def _flush(self, pending: list[_Pending], report: IngestReport) -> None:
        if not pending:
            return
        inputs = [
            embedding_inputs(p.document.kind, chunk.title, chunk.heading, chunk.text)
            for p in pending
            for chunk in p.chunks
        ]
        texts = [text for text, _ in inputs]
        # Heading labels are short and shared by many chunks: each distinct one embedded once,
        # in the same batch as the chunks; so are the other phrasings of Q&A questions.
        labels = list(dict.fromkeys(label for _, label in inputs))
        alternates = {p.document.doc_id: _phrasings_by_chunk(p) for p in pending}
        extra = list(
            dict.fromkeys(
                t for by_chunk in alternates.values() for ts in by_chunk.values() for t in ts
            )
        )
        vectors = embed_passages(self.embedder, texts)
        embedded = np.asarray(self.embedder.embed(labels + extra))  # question-like texts
        m = len(labels)
        label_vectors = dict(zip(labels, embedded[:m], strict=True))
        extra_vectors = dict(zip(extra, embedded[m:], strict=True))
        batch: list[DocumentChunks] = []
        offset = 0
        # a merchant's own help center names its own domain throughout: with no store identity
        # configured, that domain is not "sending customers elsewhere" (knowledge/links.py);
        # found in one batch of this run, it holds for the run's later batches
        trusted, own = self.trusted, ""
        if trusted is not None:
            texts = (c.text for p in pending for c in p.chunks)
            own = (report.own_host if trusted.infer_own else "") or own_host(texts, trusted)
            trusted = trusted.with_own(own)
        report.own_host = own
        for p in pending:
            n = len(p.chunks)
            flags = [flag_instructions(chunk.text, trusted) for chunk in p.chunks]
            by_chunk = alternates[p.document.doc_id]
            batch.append(
                DocumentChunks(
                    doc_id=p.document.doc_id,
                    chunks=p.chunks,
                    embeddings=vectors[offset : offset + n],
                    heading_embeddings=np.stack(
                        [label_vectors[label] for _, label in inputs[offset : offset + n]]
                    ),
                    content_hash=p.content_hash,
                    kind=p.document.kind,
                    origin=p.document.origin,
                    flags=flags,
                    phrasings={
                        chunk_id: [(t, extra_vectors[t]) for t in ts]
                        for chunk_id, ts in by_chunk.items()
                    },
                    own_host=own,
                )
            )
            offset += n
        self.store.replace_documents(batch)
        for p, stored in zip(pending, batch, strict=True):
            report.chunks_added += len(p.chunks)
            report.chunks_flagged += sum(stored.flags)
            if p.is_update:
                report.documents_updated += 1
            else:
                report.documents_added += 1
            self._tick(
                f"{'updated' if p.is_update else 'added'} {p.document.doc_id}", len(p.chunks)
            )

    def load_paths(self, paths: Sequence[str | Path]) -> Iterator[Document | Skip]:
        """Documents (or skips) for files and folders, lazily."""
        for raw in paths:
            root = Path(raw).expanduser()
            if not root.exists():
                yield Skip(str(raw), str(raw), "no such file or folder", protects="")
                continue
            for path, doc_id in iter_files(root):
                try:
                    yield load_file(path, doc_id, max_bytes=self.max_bytes)
                except SkipDocument as exc:
                    yield Skip(doc_id, str(path), str(exc))

    def _tick(self, message: str, chunks: int) -> None:
        if self.progress is not None:
            self.progress(message, chunks)


def embed_passages(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Chunk vectors: models trained with separate query and passage forms (E5) embed passages
    with `embed_passages`; symmetric ones (MiniLM) embed everything alike."""
    method = getattr(embedder, "embed_passages", None)
    return np.asarray(method(texts) if method is not None else embedder.embed(texts))


def embedding_inputs(kind: str, title: str, heading: str, text: str) -> tuple[str, str]:
    """(what gets embedded for a chunk, its heading label) for a chunk of a `kind` document.

    A Q&A section is embedded as "question\nanswer", as a FAQ search would, without the file's
    name ("Store faq"), which says nothing about any one answer; its label is the question."""
    if kind == "qa" and heading:
        return f"{heading}\n{text}", heading
    label = heading_label(title, heading)
    context = " > ".join(part for part in (title, heading) if part)
    return (f"{context}\n{text}" if context else text), label


def _phrasings_by_chunk(pending: _Pending) -> dict[str, list[str]]:
    """Chunk id -> other phrasings of its question (on the first chunk of each Q&A section)."""
    phrasings = dict(pending.document.phrasings)
    out: dict[str, list[str]] = {}
    for chunk in pending.chunks:
        also = phrasings.pop(chunk.heading, None)
        if also:
            out[chunk.id] = list(also)
    return out


def _hashed_text(document: Document) -> str:
    """What the content hash covers: the Markdown, and the extra phrasings when there are any
    (so a document without them keeps the hash it always had)."""
    if not document.phrasings:
        return document.markdown
    lines = [f"{q} | {' | '.join(also)}" for q, also in document.phrasings]
    return document.markdown + "\n\n<!-- phrasings -->\n" + "\n".join(lines)


def flag_instructions(text: str, trusted: TrustedLinks | None = None) -> bool:
    """Whether a chunk must never be shown to customers (knowledge/untrusted.py)."""
    from knowledge import untrusted

    return untrusted.looks_like_instructions(text, trusted)
