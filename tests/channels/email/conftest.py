"""Real servers on loopback for the email tests: an SMTP sink (aiosmtpd) that records what we
send, Debian's Dovecot as the IMAP server (started per test in a temporary folder), and a
builder for the raw mail the tests feed in."""

from __future__ import annotations

import email
import email.policy
import email.utils
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from settings import Settings
from tests.conftest import free_port

SUPPORT = "support@shop.test"


@dataclass
class Sent:
    mail_from: str
    rcpt_tos: list[str]
    message: Message


@dataclass
class SmtpSink:
    port: int = 0
    sent: list[Sent] = field(default_factory=list)
    refuse_with: str | None = None  # e.g. "451 try later": the next DATA is refused so
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            if self.refuse_with:
                return self.refuse_with
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.sent.append(Sent(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def email_settings(settings: Settings, smtp_sink: SmtpSink) -> Settings:
    return settings.model_copy(
        update={
            "email_address": SUPPORT,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_sink.port,
            "smtp_security": "none",
            "smtp_timeout_s": 5.0,
        }
    )


def mail(
    body: str = "Hello, what is your return policy?",
    *,
    sender: str = "Ada Lovelace <ada@example.com>",
    subject: str = "Returns",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    html: str | None = None,
    to: str = SUPPORT,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="example.com")
    msg["Date"] = email.utils.formatdate()
    for name, value in (headers or {}).items():
        msg[name] = value
    if html is not None and body:
        msg.set_content(body)
        msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
    return msg.as_bytes()


@dataclass
class Dovecot:
    host: str
    port: int
    user: str
    password: str
    root: Path

    def imap(self) -> Any:
        import imaplib

        client = imaplib.IMAP4(self.host, self.port)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        client = self.imap()
        try:
            status, _ = client.append(mailbox, None, None, raw)
            assert status == "OK"
        finally:
            client.logout()

    def count(self, mailbox: str) -> int:
        client = self.imap()
        try:
            status, data = client.select(mailbox, readonly=True)
            return int(data[0]) if status == "OK" else -1
        finally:
            client.logout()


_CONF = """protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = sa-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


@pytest.fixture
async def email_env(make_services: Any, email_settings: Settings, smtp_sink: SmtpSink) -> Any:
    from channels.email.inbound import EmailChannel

    services = await make_services(settings=email_settings)
    return Env(services, EmailChannel(services), smtp_sink)


@dataclass
class Env:
    services: Any
    channel: Any
    sink: SmtpSink

    async def deliver(self) -> int:
        """Outbox passes until nothing is due: what is due goes to the SMTP sink."""
        total = 0
        while attempted := int(await self.services.outbox.run_once()):
            total += attempted
        return total


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """Debian's Dovecot (dovecot-imapd, installed by scripts/services.sh) with one mailbox user
    and a static password, on a free loopback port, in the test's own folder."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        pytest.fail("dovecot is not installed: run scripts/services.sh (apt-get dovecot-imapd)")
    # outside pytest's 0700 temp root: as root, Dovecot's mail processes run as nobody
    root = Path(tempfile.mkdtemp(prefix="sa-dovecot-"))
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(parents=True)
    uid = os.getuid() or 65534  # Dovecot refuses to store mail as uid 0
    gid = os.getgid() or 65534
    root.chmod(0o755)
    for path in (root / "mail", root / "home"):
        path.chmod(0o777)
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(_CONF.format(root=root, port=port, uid=uid, gid=gid, password="secret"))
    # dovecot forks into the background: no pipes for its daemon to hold open
    subprocess.run(
        [binary, "-c", str(conf)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=30,
    )
    server = Dovecot("127.0.0.1", port, "support", "secret", root)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                server.imap().logout()
                break
            except OSError:
                if time.monotonic() > deadline:
                    log = root / "dovecot.log"
                    pytest.fail(f"dovecot did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        yield server
    finally:
        pid_file = root / "run" / "master.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            for _ in range(50):  # the master removes its pid file as it exits
                if not pid_file.exists():
                    break
                time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap_settings(email_settings: Settings, dovecot: Dovecot) -> Settings:
    return email_settings.model_copy(
        update={
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "imap_security": "none",
            "imap_user": dovecot.user,
            "imap_password": SecretStr(dovecot.password),
            "imap_poll_s": 1.0,
        }
    )


Builder = Callable[..., bytes]
