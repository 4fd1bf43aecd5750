"""Alembic environment. Migrations run on a connection handed over by `storage.migrate`, so the
same code serves SQLite and PostgreSQL and the async engine the app already has."""

from __future__ import annotations

from alembic import context

import storage.tables_helpdesk  # noqa: F401  (registers its tables on Base)
import storage.tables_security  # noqa: F401
import storage.tables_widget  # noqa: F401
import storage.tables_llm  # noqa: F401
import storage.tables_email  # noqa: F401
import storage.tables_console  # noqa: F401
import storage.tables_notify  # noqa: F401
from storage.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through storage.migrate.upgrade(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
