"""Tables of the email-channel issue (#15) (migration 0008)."""

from __future__ import annotations

from storage.tables import Base  # noqa: F401
