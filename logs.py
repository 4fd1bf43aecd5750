"""Logging for `serve` and the CLI: one JSON object per line (time, level, logger, message, the
record's extras, the exception), every text passed through the masking rules first.

Ground floor: imports nothing of ours but `masking`. Messages are masked after formatting, so a
`log.info("verified %s", email)` is caught as well as a SQL error that quotes a row."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from masking import mask_text, mask_value

# what every LogRecord carries; anything else on the record is an `extra=` the caller passed
_STANDARD = frozenset(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

# the loggers that bring their own handlers: routed to ours instead
_FOREIGN = ("uvicorn", "uvicorn.error", "uvicorn.access", "fastapi")
# INFO lines that tell an operator nothing (alembic lists its plugins at every start): WARNING+
# libraries whose DEBUG lines say nothing an operator needs: aiosqlite logs every database
# operation (the demo store), one line per statement, from its own thread
_CHATTY = ("alembic.runtime.plugins", "aiosqlite")


class JsonFormatter(logging.Formatter):
    """One line of JSON per record, personal data masked in every string it contains."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_text(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in out:
                out[key] = mask_value(key, _jsonable(value))
        if record.exc_info:
            out["exception"] = mask_text(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exception"] = mask_text(record.exc_text)
        if record.stack_info:
            out["stack"] = mask_text(self.formatStack(record.stack_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def configure_logging(
    level: str | int = "INFO", *, stream: IO[str] | None = None
) -> logging.Handler:
    """Installs the JSON handler on the root logger (replacing one installed before) and sends
    uvicorn's loggers through it. Returns the handler (tests read what it wrote)."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _StderrHandler()
    handler.setFormatter(JsonFormatter())
    handler._support_agent = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_support_agent", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # a library that sets its own logger to DEBUG (bm25s does) still stops at our level
    handler.setLevel(root.level)
    for name in _FOREIGN:
        foreign = logging.getLogger(name)
        foreign.handlers.clear()
        foreign.propagate = True
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # a plain handler a library put on the root logger (`logging.basicConfig(level=DEBUG)` at
    # import) would print its DEBUG lines, unformatted and unmasked, beside ours: it goes
    for other in list(root.handlers):
        if type(other) is logging.StreamHandler and other is not handler:
            root.removeHandler(other)
    return handler
