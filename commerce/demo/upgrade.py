"""Bring an older demo store file up to the current FORMAT_VERSION when it is opened.

Every change so far has only added tables, so an upgrade is `create_all` (which skips existing
tables) plus a new version in `meta`, in one transaction. A file written by a newer version is
refused rather than guessed at. A file that is not a database at all is left alone: opening it
succeeds and `ping()` reports it (DemoStore.open never half-repairs a file)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select, update
from sqlalchemy.exc import DatabaseError

from commerce.demo import schema as t
from errors import BackendError

# Versions this code can upgrade from, by adding the tables they lack.
_UPGRADABLE = {"1"}


def upgrade_store_file(path: Path) -> bool:
    """Upgrade `path` in place if it is an older format. True if it changed anything."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            try:
                version = conn.execute(
                    select(t.meta.c.value).where(t.meta.c.key == "format_version")
                ).scalar()
            except DatabaseError:
                return False  # not a store (or not a database): ping() will say so
        if version is None or version == t.FORMAT_VERSION:
            return False
        if version not in _UPGRADABLE:
            raise BackendError(
                f"{path} is store format {version}; this version reads format "
                f"{t.FORMAT_VERSION}. Upgrade support-agent or run `support-agent store seed "
                "--force`."
            )
        with engine.begin() as conn:
            t.metadata.create_all(conn)
            conn.execute(
                update(t.meta)
                .where(t.meta.c.key == "format_version")
                .values(value=t.FORMAT_VERSION)
            )
        return True
    finally:
        engine.dispose()
