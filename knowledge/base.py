"""The knowledge-base facade the agent, the server and the CLI use.

Methods are synchronous (Chroma and the embedder are); async callers use `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.chroma import collection_name
from knowledge.crawl import Crawler, is_url
from knowledge.ingest import Ingester, Progress
from knowledge.links import TrustedLinks
from knowledge.loaders import Document, Skip, SkipDocument, load_bytes, load_file, title_from_stem
from knowledge.retriever import Filters, HybridRetriever, RetrievalConfig
from knowledge.store import ChunkStore
from knowledge.types import DocumentInfo, Embedder, IngestReport, SearchResult, TopicReader

if TYPE_CHECKING:
    import httpx

    from settings import Settings


def demo_help_center() -> Path:
    """The folder of the packaged demo help center (Northwind Outfitters)."""
    return Path(str(resources.files("knowledge") / "demo"))


def _under(origin: str, folder: Path) -> bool:
    """Whether a stored document was read from `folder` (its `origin`, a path or a URL)."""
    if not origin or is_url(origin):
        return False
    try:
        return Path(origin).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


def _all_demo(targets: Sequence[str | Path]) -> bool:
    demo = demo_help_center().resolve()
    return all(not is_url(str(t)) and _under(str(t), demo) for t in targets)


def confidence_from_score(score: float, floor: float, slope: float = 12.0) -> float:
    """Monotone map of a score to 0..1, equal to 0.5 exactly at the floor."""
    return 1.0 / (1.0 + math.exp(-slope * (score - floor)))


@dataclass(frozen=True)
class KnowledgeStats:
    documents: int
    chunks: int
    flagged_chunks: int
    by_kind: dict[str, int] = field(default_factory=dict)  # documents per kind
    flagged_documents: list[str] = field(default_factory=list)


class KnowledgeBase:
    """Search and maintain one help-center collection."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        answer_floor: float | None = None,
        *,
        config: RetrievalConfig | None = None,
        http_client: httpx.Client | None = None,
        max_pages: int = 200,
        trusted: TrustedLinks | None = None,
        store_name: str | None = None,
    ) -> None:
        """`answer_floor` None: the floor fitted for the embedder's model. `store_name`: a
        question that names the store is judged without the name too (knowledge/store_name.py)."""
        self.store = store
        self.embedder = embedder
        # where help text may send customers: links and addresses elsewhere are flagged
        self.trusted = trusted
        self.retriever = HybridRetriever(
            store,
            embedder,
            answer_floor=answer_floor,
            config=config,
            trusted=trusted,
            store_name=store_name,
        )
        self.answer_floor = self.retriever.answer_floor
        self.http_client = http_client
        self.max_pages = max_pages

    def use_topics(self, reader: TopicReader | None) -> bool:
        """Rank with the agent's intent reading of questions and chunks too (HybridRetriever);
        False when `reader` embeds with another model and was not taken."""
        return self.retriever.use_topics(reader)

    def search(self, query: str, k: int = 4, filters: Filters | None = None) -> SearchResult:
        """The `k` best passages for `query`, and whether the best one is good enough.

        `filters` restricts candidates by chunk metadata (`doc_id`, `kind`, `source`, `title`),
        each a value or a list of allowed values.
        """
        return self.retriever.search(query, k, filters)

    def ingest(
        self,
        targets: Sequence[str | Path],
        *,
        prune: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Ingest files, folders and URLs (a page or a sitemap; the site is crawled).

        Unchanged documents are not embedded again; with `prune`, stored documents that none of
        the targets produced any more are deleted.
        """
        ingester = Ingester(self.store, self.embedder, progress=progress, trusted=self.trusted)
        paths = [t for t in targets if not (isinstance(t, str) and is_url(t))]
        urls = [t for t in targets if isinstance(t, str) and is_url(t)]

        def documents() -> Iterator[Document | Skip]:
            yield from ingester.load_paths(paths)
            if urls:
                yield from self._crawl(urls)

        report = ingester.ingest_documents(documents(), prune=prune)
        if report.documents_added + report.documents_updated and not _all_demo(targets):
            report.demo_removed = self._retire_demo()
        self.retriever.invalidate()
        return report

    def _retire_demo(self) -> int:
        """The store's own help center replaces the packaged demo's (Northwind's policies are no
        store's): the demo's articles are deleted once anything else is ingested beside them.
        Returns how many were."""
        demo = demo_help_center().resolve()
        stored = self.documents()
        retired = [d.doc_id for d in stored if _under(d.origin, demo)]
        if not retired or len(retired) == len(stored):
            return 0
        self.store.delete_documents(retired)
        return len(retired)

    def ingest_bytes(self, name: str, data: bytes) -> IngestReport:
        """Ingest one uploaded file (staff upload); its name is its document id."""
        ingester = Ingester(self.store, self.embedder, trusted=self.trusted)
        name = Path(name).name or "upload"
        suffix = Path(name).suffix.lower()
        item: Document | Skip
        try:
            if len(data) > ingester.max_bytes:
                raise SkipDocument(f"too large ({len(data) / 1_048_576:.1f} MB)")
            item = load_bytes(
                data,
                suffix=suffix,
                doc_id=name,
                source=name,
                title=title_from_stem(Path(name).stem),
            )
        except SkipDocument as exc:
            item = Skip(name, name, str(exc))
        report = ingester.ingest_documents([item])
        self.retriever.invalidate()
        return report

    def reindex(self, doc_ids: Sequence[str] | None = None) -> IngestReport:
        """Read documents again from where they came from and embed them again, changed or not.

        Uploaded documents have nowhere to be read from and are reported as skipped.
        """
        wanted = set(doc_ids) if doc_ids is not None else None
        documents = [d for d in self.documents() if wanted is None or d.doc_id in wanted]

        def reload() -> Iterator[Document | Skip]:
            urls = [d for d in documents if is_url(d.origin)]
            for info in documents:
                if is_url(info.origin):
                    continue
                if not info.origin:
                    yield Skip(info.doc_id, info.doc_id, "no origin to read again (uploaded)")
                    continue
                try:
                    yield load_file(Path(info.origin), info.doc_id)
                except SkipDocument as exc:
                    yield Skip(info.doc_id, info.origin, str(exc))
            if urls:
                with self._client() as client:
                    crawler = Crawler(client, max_pages=1)
                    for info in urls:
                        yield crawler.fetch_page(info.origin)

        ingester = Ingester(self.store, self.embedder, trusted=self.trusted)
        report = ingester.ingest_documents(reload(), force=True)
        self.retriever.invalidate()
        return report

    def _client(self) -> contextlib.AbstractContextManager[httpx.Client]:
        import httpx

        if self.http_client is not None:
            return contextlib.nullcontext(self.http_client)
        return httpx.Client(timeout=httpx.Timeout(15.0, connect=5.0))

    def _crawl(self, urls: Sequence[str]) -> Iterator[Document | Skip]:
        with self._client() as client:
            crawler = Crawler(client, max_pages=self.max_pages)
            for url in urls:
                yield from crawler.crawl(url)

    def count(self) -> int:
        """Number of stored chunks."""
        return self.store.count()

    def documents(self) -> list[DocumentInfo]:
        return self.store.documents()

    def delete(self, doc_id: str) -> int:
        """Delete one document; returns how many chunks went with it."""
        removed = self.store.delete_document(doc_id)  # stamps a new revision for other processes
        if removed:
            self.retriever.invalidate()
        return removed

    def stats(self) -> KnowledgeStats:
        documents = self.documents()
        return KnowledgeStats(
            documents=len(documents),
            chunks=sum(d.chunks for d in documents),
            flagged_chunks=sum(d.flagged for d in documents),
            by_kind=dict(Counter(d.kind for d in documents)),
            flagged_documents=[d.doc_id for d in documents if d.flagged],
        )

    def ensure_demo(self) -> IngestReport | None:
        """Ingest the packaged demo help center when the collection is empty."""
        if self.count() > 0:
            return None
        return self.ingest([demo_help_center()])

    def ping(self) -> bool:
        return self.store.ping()


def build_knowledge_base(
    settings: Settings,
    embedder: Embedder,
    *,
    store_id: str | None = None,
    language: str | None = None,
    http_client: httpx.Client | None = None,
) -> KnowledgeBase:
    """The knowledge base described by `settings` (Chroma on disk, or a server at `chroma_url`).

    Each store and language gets its own collection: `help_center`, `help_center__acme__fr`.
    """
    name = collection_name(settings.kb_collection, store_id=store_id, language=language)
    return KnowledgeBase(
        ChunkStore.from_settings(settings, name),
        embedder,
        # an explicit SUPPORT_KB_ANSWER_FLOOR wins; otherwise the embedder's own fitted floor
        answer_floor=(
            settings.kb_answer_floor if "kb_answer_floor" in settings.model_fields_set else None
        ),
        http_client=http_client,
        trusted=TrustedLinks.from_settings(settings),
        store_name=settings.store_name,
    )
