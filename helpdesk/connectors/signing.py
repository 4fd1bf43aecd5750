"""Webhook signatures: our own scheme (used outbound by the generic webhook connector and inbound
by the generic endpoint) and Zendesk's. Pure functions, no I/O.

Our scheme, for integrators:

    X-Support-Agent-Timestamp: <unix seconds>
    X-Support-Agent-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{raw body}")>

Zendesk's: X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, timestamp + raw body)) with
the timestamp in X-Zendesk-Webhook-Signature-Timestamp.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

TIMESTAMP_HEADER = "X-Support-Agent-Timestamp"
SIGNATURE_HEADER = "X-Support-Agent-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE_S = 300.0


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signature_headers(secret: str | bytes, body: bytes, *, now: float) -> dict[str, str]:
    timestamp = int(now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def zendesk_signature(secret: str | bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(_key(secret), timestamp.encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def same(expected: str, given: str) -> bool:
    """Constant-time comparison, so response timing leaks nothing about the expected value."""
    return hmac.compare_digest(expected.encode(), given.encode())


def verify(secret: str | bytes, *, timestamp: str, body: bytes, signature: str) -> bool:
    """Our scheme. The timestamp window is checked separately (`within_window`)."""
    if not timestamp.isdigit():
        return False
    return same(sign(secret, timestamp, body), signature.strip())


def verify_zendesk(secret: str | bytes, *, timestamp: str, body: bytes, signature: str) -> bool:
    return same(zendesk_signature(secret, timestamp, body), signature.strip())


def parse_timestamp(value: str) -> datetime | None:
    """Unix seconds (ours) or ISO 8601 (Zendesk: 2024-05-01T12:00:00Z)."""
    value = value.strip()
    try:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), UTC)
        parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def within_window(
    when: datetime, *, now: datetime, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> bool:
    """Rejects stale requests and ones from the future (a skewed or forging sender) alike."""
    return abs((now - when).total_seconds()) <= tolerance_s
