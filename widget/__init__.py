"""The customer chat widget: static assets served by the web server (/widget.js, /widget.css,
and the demo storefront at /).

widget.js is not a file: it is built at first use from the sources in widget/src/, concatenated
in the fixed order of SOURCES inside one function scope (no build step, no bundler: each source
file is plain JS that sees the constants of the files before it)."""

from __future__ import annotations

from functools import cache
from importlib import resources

# Order matters: constants and helpers first, the element's class before its mixins, the mount
# (which defines the element and adds it to the page) last.
SOURCES = (
    "core.js",
    "strings.js",
    "markdown.js",
    "handlers.js",
    "chat.js",
    "view.js",
    "extras.js",
    "mount.js",
)


@cache
def bundle() -> bytes:
    """widget.js: the sources in order, wrapped in one strict-mode function scope."""
    src = resources.files(__name__).joinpath("src")
    parts = [src.joinpath(name).read_text(encoding="utf-8") for name in SOURCES]
    return ('(() => {\n"use strict";\n\n' + "\n".join(parts) + "})();\n").encode()


def asset(name: str) -> bytes:
    """Return the bytes of a widget file such as "widget.js" or "storefront.html".

    Raises FileNotFoundError for anything that is not a plain file of this package, including
    names that try to leave it ("../settings.py", "sub/dir").
    """
    if name == "widget.js":
        return bundle()
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise FileNotFoundError(name)
    file = resources.files(__name__).joinpath(name)
    if not file.is_file():
        raise FileNotFoundError(name)
    return file.read_bytes()
