"""The customer chat widget: static assets served by the web server (/widget.js, /widget.css,
and the demo storefront at /)."""

from __future__ import annotations

from importlib import resources


def asset(name: str) -> bytes:
    """Return the bytes of a packaged widget file such as "widget.js" or "storefront.html".

    Raises FileNotFoundError for anything that is not a plain file of this package, including
    names that try to leave it ("../settings.py", "sub/dir").
    """
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise FileNotFoundError(name)
    file = resources.files(__name__).joinpath(name)
    if not file.is_file():
        raise FileNotFoundError(name)
    return file.read_bytes()
