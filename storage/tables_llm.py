"""Tables of the LLM-path issue (#14) (migration 0007)."""

from __future__ import annotations

from storage.tables import Base  # noqa: F401
