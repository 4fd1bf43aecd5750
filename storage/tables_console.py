"""Tables of the staff console (issue #16, migration 0009)."""

from __future__ import annotations

from storage.tables import Base  # noqa: F401
