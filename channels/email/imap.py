"""The IMAP poller (aioimaplib): new mail in the mailbox, each message handled once, in UID order.

Per pass: SELECT (its UIDVALIDITY is compared with the stored one; a new value restarts the UID
count, and the Message-ID dedup keeps mail already answered from being answered again), UID
SEARCH for UIDs above the stored last UID, then for each: UID FETCH BODY.PEEK[] (not marking it
read), EmailChannel.handle (which commits its decision and any reply), then UID MOVE to the
processed folder (COPY + STORE \\Deleted + EXPUNGE without MOVE) and only then the stored last
UID. A crash between the decision and the move reprocesses that UID: it is a duplicate, moved.
A message whose handling fails stops the pass there, to be retried on the next one.

Between passes: IDLE when the server offers it (woken by new mail, at most `imap_poll_s`),
otherwise a sleep of `imap_poll_s`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from typing import Any

import aioimaplib

from channels.email.inbound import EmailChannel
from storage.tables_email import EmailMailbox

log = logging.getLogger(__name__)

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


class ImapError(Exception):
    pass


def _ok(response: Any, what: str) -> Any:
    if response.result != "OK":
        lines = b" ".join(bytes(x) for x in response.lines[-1:])
        raise ImapError(f"{what} failed: {response.result} {lines[:200]!r}")
    return response


def fetched_body(lines: list[Any]) -> bytes | None:
    """The literal of a `UID FETCH n (BODY.PEEK[])` response (aioimaplib hands it as a
    bytearray line after the line that announces `{size}`)."""
    for i, line in enumerate(lines[:-1]):
        if isinstance(line, bytes | bytearray) and line.rstrip().endswith(b"}"):
            nxt = lines[i + 1]
            if isinstance(nxt, bytearray | bytes):
                return bytes(nxt)
    return None


class ImapPoller:
    def __init__(self, channel: EmailChannel, services: Any) -> None:
        self._channel = channel
        self._settings = services.settings
        self._sessions = services.sessions
        s = self._settings
        self.name = f"{s.imap_user}@{s.imap_host}/{s.imap_mailbox}"[:300]

    async def _connect(self) -> Any:
        s = self._settings
        if s.imap_security == "tls":
            client = aioimaplib.IMAP4_SSL(
                host=s.imap_host, port=s.imap_port, ssl_context=ssl.create_default_context()
            )
        else:
            client = aioimaplib.IMAP4(host=s.imap_host, port=s.imap_port)
        await client.wait_hello_from_server()
        password = s.imap_password.get_secret_value() if s.imap_password else ""
        _ok(await client.login(s.imap_user or "", password), "LOGIN")
        await client.protocol.capability()  # servers list MOVE and IDLE only after login
        return client

    async def _select(self, client: Any) -> int:
        s = self._settings
        response = _ok(await client.select(s.imap_mailbox), "SELECT")
        for line in response.lines:
            if isinstance(line, bytes | bytearray) and (m := _UIDVALIDITY.search(bytes(line))):
                return int(m.group(1))
        raise ImapError("SELECT did not report UIDVALIDITY")

    async def _last_uid(self, uidvalidity: int) -> int:
        async with self._sessions.begin() as session:
            row = await session.get(EmailMailbox, self.name)
            if row is None:
                session.add(EmailMailbox(name=self.name, uidvalidity=uidvalidity, last_uid=0))
                return 0
            if row.uidvalidity != uidvalidity:
                log.warning("mailbox %s: UIDVALIDITY changed, rescanning", self.name)
                row.uidvalidity, row.last_uid = uidvalidity, 0
                return 0
            return int(row.last_uid)

    async def _advance(self, uid: int) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(EmailMailbox, self.name)
            if row is not None and row.last_uid < uid:
                row.last_uid = uid

    async def _done(self, client: Any, uid: int) -> None:
        folder = self._settings.imap_processed_folder
        if not folder:
            _ok(await client.uid("store", str(uid), "+FLAGS", r"(\Seen)"), "STORE")
        elif "MOVE" in client.protocol.capabilities:
            _ok(await client.uid("move", str(uid), folder), "MOVE")
        else:
            _ok(await client.uid("copy", str(uid), folder), "COPY")
            _ok(await client.uid("store", str(uid), "+FLAGS", r"(\Deleted)"), "STORE")
            _ok(await client.expunge(), "EXPUNGE")

    async def _pass(self, client: Any) -> int:
        last = await self._last_uid(await self._select(client))
        response = _ok(await client.uid_search(f"UID {last + 1}:*", charset=None), "SEARCH")
        uids = sorted(
            int(u)
            for line in response.lines[:-1]
            for u in bytes(line).split()
            if u.isdigit() and int(u) > last
        )
        handled = 0
        for uid in uids:
            fetched = _ok(await client.uid("fetch", str(uid), "(BODY.PEEK[])"), "FETCH")
            raw = fetched_body(fetched.lines)
            if raw is None:
                raise ImapError(f"UID {uid}: no body in the FETCH response")
            await self._channel.handle(raw)  # the decision is committed before the move
            await self._done(client, uid)
            await self._advance(uid)
            handled += 1
        return handled

    async def poll_once(self) -> int:
        """One pass (`support-agent email poll`): returns how many messages were handled."""
        client = await self._connect()
        try:
            await self._ensure_folder(client)
            return await self._pass(client)
        finally:
            with contextlib.suppress(Exception):
                await client.logout()

    async def _ensure_folder(self, client: Any) -> None:
        folder = self._settings.imap_processed_folder
        if folder:
            await client.create(folder)  # "already exists" is an answer, not a failure

    async def run_forever(self, stop: asyncio.Event) -> None:
        wait_s = self._settings.imap_poll_s
        while not stop.is_set():
            client = None
            try:
                client = await self._connect()
                await self._ensure_folder(client)
                while not stop.is_set():
                    await self._pass(client)
                    if "IDLE" in client.protocol.capabilities:
                        await self._idle(client, wait_s, stop)
                    else:
                        await _wait(stop, wait_s)
            except Exception:  # the server went away or refused: reconnect after a pause
                log.warning("IMAP poller %s: pass failed", self.name, exc_info=True)
                await _wait(stop, wait_s)
            finally:
                if client is not None:
                    with contextlib.suppress(Exception):
                        await client.logout()

    async def _idle(self, client: Any, wait_s: float, stop: asyncio.Event) -> None:
        idle = await client.idle_start(timeout=wait_s)
        stopper = asyncio.ensure_future(stop.wait())
        pushed = asyncio.ensure_future(client.wait_server_push(timeout=wait_s + 5))
        try:
            await asyncio.wait({stopper, pushed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            pushed.cancel()
            client.idle_done()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(idle, 10)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
