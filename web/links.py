"""Links the server makes (articles, attachments, opt-out pages, emails): absolute from
SUPPORT_PUBLIC_URL when it is set, else relative to this server's root (the widget resolves
those against the script's own origin)."""

from __future__ import annotations

from typing import Any


def public_link(settings: Any, path: str) -> str:
    """`path` starts with "/"."""
    base = (getattr(settings, "public_url", None) or "").rstrip("/")
    return f"{base}{path}"
