"""Tables of proactive order notifications (issue #17, migration 0010)."""

from __future__ import annotations

from storage.tables import Base  # noqa: F401
