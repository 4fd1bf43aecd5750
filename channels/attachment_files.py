"""Customer photos, apart from the routes (channels/attachments.py): reading and re-encoding an
upload. Finding a conversation's photos and serving one live in web/attachments.py, which the
staff console shares.

The type is read from the bytes (Pillow opens them; the filename and Content-Type the browser
sent are never believed), and every image is decoded and encoded again: what is stored holds
pixels only, no EXIF (GPS position, camera serial), no ICC or XMP block, no trailing data."""

from __future__ import annotations

import io
from typing import Any

# moved to web/attachments.py (the console uses them too); importable here as before
from web.attachments import customer_url, for_conversations, owned  # noqa: F401

# what Pillow calls the format -> what we store and serve
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
SAVE_AS = {
    "image/jpeg": ("JPEG", ".jpg"),
    "image/png": ("PNG", ".png"),
    "image/webp": ("WEBP", ".webp"),
}
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
FOLDER = "attachments"  # under the data dir; files named by the attachment id


class UploadRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def reencode(data: bytes) -> tuple[bytes, str]:
    """The image's pixels in a fresh file of the same type, and that type. Raises
    UploadRefused for anything that is not a JPEG, PNG or WebP image Pillow can decode."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = FORMATS.get(probe.format or "")
            if kind is None:
                raise UploadRefused(415, "unsupported_type", "Photos must be JPEG, PNG or WebP.")
            if probe.width * probe.height > MAX_PIXELS:
                raise UploadRefused(415, "unsupported_type", "The image is too large to read.")
            probe.load()
            # the orientation EXIF carried is applied to the pixels before EXIF is dropped
            image = ImageOps.exif_transpose(probe)
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            # a fresh image from the raw pixels: no EXIF, ICC, XMP or text chunk comes along
            clean = Image.frombytes(image.mode, image.size, image.tobytes())
    except UploadRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UploadRefused(415, "unsupported_type", "Photos must be JPEG, PNG or WebP.") from exc
    fmt, _ = SAVE_AS[kind]
    if fmt == "JPEG" and clean.mode not in ("RGB", "L"):  # an RGBA PNG never lands here
        clean = clean.convert("RGB")
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
    clean.save(out, format=fmt, **options)
    return out.getvalue(), kind
