"""The storefront's signed login for the widget (`identify` frame, docs/widget.md).

A token is `customer_id.ts.hex(HMAC-SHA256(SUPPORT_WIDGET_SECRET, customer_id + "." + ts))`,
made by the store's own server for a shopper it has logged in. The customer id may itself hold
dots, so the token is split from the right. A token is good for TOKEN_TTL_S after `ts` and never
more than MAX_SKEW_S ahead of this server's clock. Anything else is refused without a reason:
the caller ignores it, so a guesser learns nothing from the answer."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import Counter
from dataclasses import dataclass

log = logging.getLogger(__name__)

TOKEN_TTL_S = 600
MAX_SKEW_S = 60
MAX_CUSTOMER_ID = 64
# ignored tokens by reason, in this process (the log line says which conversation)
REFUSED: Counter[str] = Counter()


@dataclass(frozen=True)
class TokenCheck:
    customer_id: str | None  # set only for a good token
    reason: str  # "ok" | "no_secret" | "malformed" | "bad_signature" | "expired" | "future"


def sign(secret: str, customer_id: str, ts: int) -> str:
    """What the store's server computes (tests and docs use it too)."""
    mac = hmac.new(secret.encode(), f"{customer_id}.{ts}".encode(), hashlib.sha256).hexdigest()
    return f"{customer_id}.{ts}.{mac}"


def check_token(secret: str | None, token: str, *, now: float | None = None) -> TokenCheck:
    if not secret:
        return TokenCheck(None, "no_secret")
    head, _, mac = token.rpartition(".")
    customer_id, _, ts_text = head.rpartition(".")
    if not customer_id or len(customer_id) > MAX_CUSTOMER_ID or not ts_text.isdigit():
        return TokenCheck(None, "malformed")
    if len(mac) != 64:
        return TokenCheck(None, "malformed")
    expected = sign(secret, customer_id, int(ts_text)).rpartition(".")[2]
    # compared before the time checks, so an expired forgery and an expired real token differ
    # only in the log
    if not hmac.compare_digest(expected.encode(), mac.lower().encode()):
        return TokenCheck(None, "bad_signature")
    now = time.time() if now is None else now
    age = now - int(ts_text)
    if age > TOKEN_TTL_S:
        return TokenCheck(None, "expired")
    if age < -MAX_SKEW_S:
        return TokenCheck(None, "future")
    return TokenCheck(customer_id, "ok")


def refused(check: TokenCheck, conversation_id: str | None) -> None:
    """The counter and log line for an ignored token (no frame tells the client why)."""
    REFUSED[check.reason] += 1
    log.info("identify token ignored (%s) in conversation %s", check.reason, conversation_id)
