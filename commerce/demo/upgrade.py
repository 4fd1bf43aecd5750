"""Bring an older demo store file up to the current FORMAT_VERSION when it is opened.

"2" only added tables: `create_all` (which skips existing tables) adds them. "3" added columns
(options, inventory policy, payment method) and "4" the orders' amount due: each missing one is
added with ALTER TABLE (the amount due starts at 0), and the
variants' options are read back from their titles ("M / Navy" -> Size M, Color Navy) where the
value is one the demo catalogue knows, else "Option 1", "Option 2"... One transaction; a file
written by a newer version is refused rather than guessed at. A file that is not a database at
all is left alone: opening it succeeds and `ping()` reports it (DemoStore.open never half-repairs
a file)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Connection, create_engine, inspect, select, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.schema import CreateColumn

from commerce.demo import schema as t
from commerce.demo.catalog import CLOTHING_SIZES, COLOURS, SHOE_SIZES, SOCK_SIZES
from errors import BackendError

# Versions this code can upgrade from.
_UPGRADABLE = {"1", "2", "3"}
_SIZES = set(SHOE_SIZES) | set(CLOTHING_SIZES) | set(SOCK_SIZES)
_COLOURS = set(COLOURS.values())


def options_from_title(title: str) -> dict[str, str]:
    """What a pre-"3" variant title says about its options. "One size" and "Default" say
    nothing (a product without options)."""
    if title in ("", "One size", "Default", "Default Title"):
        return {}
    options: dict[str, str] = {}
    for i, part in enumerate(p.strip() for p in title.split(" / ")):
        name = "Size" if part in _SIZES else "Color" if part in _COLOURS else f"Option {i + 1}"
        options[name if name not in options else f"Option {i + 1}"] = part
    return options


def _add_columns(conn: Connection) -> None:
    inspector = inspect(conn)
    for table in (t.products, t.variants, t.orders):
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                ddl = CreateColumn(column).compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")


def _fill_options(conn: Connection) -> None:
    rows = conn.execute(select(t.variants.c.sku, t.variants.c.title)).all()
    for sku, title in rows:
        options = options_from_title(title)
        if options:
            conn.execute(
                update(t.variants)
                .where(t.variants.c.sku == sku)
                .values(options=json.dumps(options))
            )


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
            _add_columns(conn)
            if version in ("1", "2"):  # a "3" file has its options already
                _fill_options(conn)
            conn.execute(
                update(t.meta)
                .where(t.meta.c.key == "format_version")
                .values(value=t.FORMAT_VERSION)
            )
        return True
    finally:
        engine.dispose()
