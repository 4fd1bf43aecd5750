"""A mail's attachments kept on the same `attachments` table and files as the widget's photos
(channels/attachment_files.py), so staff see them with the escalation the same way.

The type comes from the bytes only, never the filename or the Content-Type the sender wrote:
  - an image Pillow reads (JPEG, PNG, WebP) is re-encoded: pixels only, no EXIF;
  - a PDF (`%PDF-` at the start) and plain UTF-8 text (no NUL, no control bytes) are kept as
    they are;
  - anything else (an executable named invoice.pdf, archives, Office files) is listed only.
A file over `email_attachment_max_bytes`, or past `email_attachments_max_total` for the mail, is
listed, not stored. What was not stored is told to the agent (and so to staff, who read the
same transcript) by `note()`."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channels.attachment_files import FOLDER, SAVE_AS, UploadRefused, reencode
from channels.email.parse import Attachment as MailAttachment
from storage.tables_widget import Attachment

KEPT_AS_IS = {"application/pdf": ".pdf", "text/plain": ".txt"}
_TEXT_CONTROL = set(range(0, 9)) | {11, 12} | set(range(14, 32)) | {127}


@dataclass(frozen=True)
class Kept:
    """One listed attachment: the stored row (None when not stored) and why not."""

    filename: str
    row: Attachment | None
    refused: str = ""  # too_large | over_total | type_not_accepted


def sniff(data: bytes) -> tuple[bytes, str] | None:
    """(bytes to store, content type) or None when the type is not one we keep."""
    if data.startswith(b"%PDF-"):
        return data, "application/pdf"
    try:
        return reencode(data)
    except UploadRefused:
        pass
    if data and not (set(data[:65536]) & _TEXT_CONTROL):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return data, "text/plain"
    return None


def prepare(
    attachments: list[MailAttachment], *, conversation_id: str, settings: Any, root: Path
) -> list[Kept]:
    """Sniffs, sanitises and writes the files under `root/attachments/` (the caller adds the
    rows to its transaction: a row never points to a missing file)."""
    per_file = settings.email_attachment_max_bytes
    budget = settings.email_attachments_max_total
    kept: list[Kept] = []
    for item in attachments:
        if not item.data:  # a delivery report or an empty part: nothing to keep
            continue
        if item.size > per_file:
            kept.append(Kept(item.filename, None, "too_large"))
            continue
        found = sniff(item.data)
        if found is None:
            kept.append(Kept(item.filename, None, "type_not_accepted"))
            continue
        data, kind = found
        if len(data) > budget:
            kept.append(Kept(item.filename, None, "over_total"))
            continue
        budget -= len(data)
        row = Attachment(
            id=os.urandom(16).hex(),
            conversation_id=conversation_id,
            content_type=kind,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            path="",
        )
        suffix = SAVE_AS[kind][1] if kind in SAVE_AS else KEPT_AS_IS[kind]
        relative = Path(FOLDER) / f"{row.id}{suffix}"
        row.path = relative.as_posix()
        _write(root / relative, data)
        kept.append(Kept(item.filename, row))
    return kept


_WHY = {
    "too_large": "over the size limit",
    "over_total": "over the limit for one email",
    "type_not_accepted": "file type not accepted",
}


def note(kept: list[Kept]) -> str:
    """The line the agent reads after the customer's text ("" when nothing was attached)."""
    if not kept:
        return ""
    stored = [k.filename for k in kept if k.row is not None][:10]
    refused = [f"{k.filename} ({_WHY[k.refused]})" for k in kept if k.row is None][:10]
    parts = []
    if stored:
        parts.append("attached: " + ", ".join(stored))
    if refused:
        parts.append("not kept: " + ", ".join(refused))
    return "(" + "; ".join(parts) + ")"


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(target)
