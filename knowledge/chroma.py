"""Opening Chroma, and one process's view of a collection that other processes may write.

Chroma's embedded (persistent) client is not process-safe. Each process keeps an in-memory view
of the vector index that does not see another process's writes — reads then fail with "Error
finding id" — and a stale view that later writes can persist itself over records the other
process added. `SharedView` is how the server and `support-agent kb ...` in a shell share one
folder: every write runs under a lock file and ends by stamping a new revision token on the
collection; a process that finds a revision it did not write drops its cached Chroma system and
opens the folder again from disk, before it reads (the retriever polls the revision) and before
it writes. A Chroma server (`SUPPORT_CHROMA_URL`) is process-safe and needs only the revision.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from errors import KnowledgeError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from knowledge.rows import Rows
    from settings import Settings

_PAGE = 5000  # rows per `get` page when reading a whole collection


def collection_name(base: str, *, store_id: str | None = None, language: str | None = None) -> str:
    """`base`, or `base__store__language`, reduced to what Chroma accepts in a name."""
    parts = [base] + [p for p in (store_id, language) if p]
    name = "__".join(re.sub(r"[^a-zA-Z0-9._-]+", "-", p).strip("-._") for p in parts)
    if len(name) < 3:
        name = f"{name}-kb"
    return name[:512]


OPEN_LOCK = ".support-agent-open.lock"  # not the write lock: a reopen happens under that one


def make_client(settings: Settings) -> ClientAPI:
    """`HttpClient` when `chroma_url` is set, else a `PersistentClient` under `data_dir`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        from urllib.parse import urlsplit

        url = urlsplit(settings.chroma_url)
        if not url.hostname:
            raise KnowledgeError(f"SUPPORT_CHROMA_URL is not a URL: {settings.chroma_url!r}")
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    # N workers start together: Chroma creates or migrates its SQLite file while it opens, and
    # another process opening it meanwhile failed with "database is locked" (a worker that fails
    # start-up stops uvicorn's whole supervisor). One process opens the folder at a time.
    with file_lock(settings.chroma_path / OPEN_LOCK):
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def fresh_persistent_client(settings: Settings) -> ClientAPI:
    """A client that reads the folder from disk again instead of reusing this process's cached
    Chroma system (which keeps the stale in-memory index)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    return make_client(settings)


class SharedView:
    """Which revision of the collection this process's view holds, and the write lock.

    `read_revision` reads the collection's token as stored now; `reconnect` (embedded stores
    only) reopens the store from disk; `lock_path` is the lock file every writer takes.
    """

    def __init__(
        self,
        read_revision: Callable[[], str],
        *,
        reconnect: Callable[[], None] | None = None,
        lock_path: Path | None = None,
    ) -> None:
        self._read_revision = read_revision
        self._reconnect = reconnect
        self._lock_path = lock_path
        self.known: str | None = None  # the last revision this process's view holds
        self.dirty = False  # written inside the current `writing()` block, not yet stamped
        self.reopened = 0  # times another process's writes made us reopen (for tests, logs)
        self._lock = threading.RLock()
        self._depth = 0

    def opened(self, revision: str) -> None:
        """A freshly opened collection holds `revision` (unless we already know better)."""
        if self.known is None:
            self.known = revision

    def stamped(self, revision: str) -> None:
        """This process just wrote `revision`."""
        self.known = revision
        self.dirty = False

    @contextlib.contextmanager
    def writing(self, stamp: Callable[[], None]) -> Iterator[None]:
        """Hold the write lock (re-entrant); the view is brought up to date first, and the
        outermost block ends with `stamp()` if anything was written."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            with file_lock(self._lock_path):
                self._refresh()
                self._depth = 1
                self.dirty = False
                try:
                    yield
                finally:
                    self._depth = 0
                    if self.dirty:
                        stamp()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """The write lock, up to date, without stamping (for dropping the collection)."""
        with self._lock, file_lock(self._lock_path):
            self._refresh()
            yield
            self.known = None

    def refresh(self) -> bool:
        """Reopen the store if another process wrote since this one last looked; True if so."""
        with self._lock:  # never swap the client under a write in another thread
            return self._refresh()

    def _refresh(self) -> bool:
        current = self._read_revision()
        if self.known is None or current == self.known or self._reconnect is None:
            self.known = current
            return False
        self._reconnect()
        self.known = self._read_revision()
        self.reopened += 1
        return True


@contextlib.contextmanager
def file_lock(path: Path | None) -> Iterator[None]:
    """An exclusive lock between processes (flock on a lock file); nothing when `path` is None."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pages(
    collection: Collection, *, include: list[Any], where: dict[str, Any] | None = None
) -> Iterator[Any]:
    """`collection.get` page by page (Chroma caps how many rows one call returns)."""
    offset = 0
    while True:
        page = collection.get(where=where, include=include, limit=_PAGE, offset=offset)
        yield page
        if len(page["ids"]) < _PAGE:
            return
        offset += _PAGE


def delete_where(collection: Collection, where: dict[str, Any]) -> int:
    ids = collection.get(where=where, include=[])["ids"]
    if ids:
        collection.delete(ids=ids)
    return len(ids)


def swap_collections(client: ClientAPI, contents: Iterable[tuple[str, Rows]], step: int) -> None:
    """Replace each named collection by a new one holding `rows`: all are written in full
    under temporary names first, then swapped in (deleted and renamed)."""
    written: list[tuple[str, Collection]] = []
    for name, rows in contents:
        temporary = f"{name[:490]}__swap"
        with contextlib.suppress(Exception):  # left over from an interrupted swap
            client.delete_collection(temporary)
        collection = client.create_collection(
            temporary, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        rows.add_to(collection, step)
        written.append((name, collection))
    for name, collection in written:
        with contextlib.suppress(Exception):
            client.delete_collection(name)
        collection.modify(name=name)
