"""Mailgun's inbound routes: `POST /email/mailgun/mime` (point a route's "store and notify" or
"forward" action at `https://<your server>/email/mailgun/mime`, which makes Mailgun post the raw
MIME as `body-mime`). Signed: HMAC-SHA256 of timestamp + token with the webhook signing key,
within SUPPORT_WEBHOOK_TOLERANCE_S; anything else is a 403 that changes nothing.

A repeated delivery (Mailgun retries on a 5xx) is answered once: the Message-ID dedup of the
channel turns the second into a duplicate. Mail over SUPPORT_EMAIL_MAX_BYTES gets a 406, which
tells Mailgun not to retry; the request itself is bounded by SUPPORT_MAX_REQUEST_BYTES."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from channels.email.inbound import EmailChannel

log = logging.getLogger(__name__)

router = APIRouter()


def signature_ok(
    key: str,
    *,
    timestamp: str,
    token: str,
    signature: str,
    tolerance_s: float,
    now: float | None = None,
) -> bool:
    try:
        age = abs((now if now is not None else time.time()) - float(timestamp))
    except ValueError:
        return False
    expected = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return age <= tolerance_s and hmac.compare_digest(expected, signature)


@router.post("/email/mailgun/mime")
async def mailgun_mime(request: Request) -> JSONResponse:
    services: Any = request.app.state.services
    settings = services.settings
    if settings.mailgun_signing_key is None or not settings.email_address:
        return JSONResponse({"error": "the Mailgun route is not configured"}, status_code=404)
    limit = settings.email_max_bytes
    try:
        form = await request.form(max_files=0, max_fields=50, max_part_size=limit + 1)
    except Exception:  # a part over the limit, or not a form at all
        return JSONResponse({"error": "not a Mailgun form within the size limit"}, status_code=406)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not signature_ok(
        settings.mailgun_signing_key.get_secret_value(),
        timestamp=fields.get("timestamp", ""),
        token=fields.get("token", ""),
        signature=fields.get("signature", ""),
        tolerance_s=settings.webhook_tolerance_s,
    ):
        log.warning("Mailgun route: bad or stale signature")
        return JSONResponse({"error": "bad signature"}, status_code=403)
    raw = fields.get("body-mime", "").encode("utf-8", errors="replace")
    if not raw or len(raw) > limit:
        return JSONResponse({"error": "no message, or over the size limit"}, status_code=406)
    outcome = await EmailChannel(services).handle(raw)  # an exception is a 500: Mailgun retries
    return JSONResponse({"action": outcome.action, "reason": outcome.reason})
