"""Mailgun's inbound route: a signed raw MIME post is handled like any mail (threaded reply
through the outbox); a forged or stale signature is a 403 and stores nothing; a retry of the
same post is answered once."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import select

from server import create_app
from storage.tables_email import EmailRecord
from tests.channels.email.conftest import mail

KEY = "mg-signing-key-for-tests"


def _form(raw: bytes, *, key: str = KEY, timestamp: float | None = None) -> dict[str, str]:
    stamp = str(int(timestamp if timestamp is not None else time.time()))
    token = "a" * 50
    signature = hmac.new(key.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "timestamp": stamp,
        "token": token,
        "signature": signature,
        "body-mime": raw.decode(),
    }


async def test_signed_posts_are_answered_once_and_forgeries_change_nothing(
    email_env: Any,
) -> None:
    services = email_env.services
    services.settings = services.settings.model_copy(update={"mailgun_signing_key": SecretStr(KEY)})
    app = create_app(services.settings, services)
    app.state.services = services
    transport = httpx.ASGITransport(app=app)
    raw = mail(message_id="<mg1@example.com>")
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        forged = await client.post("/email/mailgun/mime", data=_form(raw, key="wrong"))
        stale = await client.post("/email/mailgun/mime", data=_form(raw, timestamp=1e9))
        assert (forged.status_code, stale.status_code) == (403, 403)
        async with services.sessions() as session:
            assert (await session.scalars(select(EmailRecord))).all() == []
        first = await client.post("/email/mailgun/mime", data=_form(raw))
        again = await client.post("/email/mailgun/mime", data=_form(raw))
    assert first.status_code == 200, first.text
    assert first.json() == {"action": "reply", "reason": ""}
    assert again.json() == {"action": "ignore", "reason": "duplicate"}
    await email_env.deliver()
    [sent] = email_env.sink.sent
    assert sent.message["In-Reply-To"] == "<mg1@example.com>"
