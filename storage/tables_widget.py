"""Tables of the widget issue (#13) (migration 0006)."""

from __future__ import annotations

from storage.tables import Base  # noqa: F401
