"""Raw mail -> ParsedEmail: the headers the channel decides on, the body as text (HTML reduced
to text when there is no text part), attachments listed, and the new text (quoted history and
signature removed, channels/email/quoted.py) that alone reaches the agent.

Mail is untrusted input from anyone: every failure here is a `BadEmail` with a short reason code,
never an exception from the stdlib's parser escaping into the poller."""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from email.message import Message

from bs4 import BeautifulSoup

from channels.email.quoted import new_text
from errors import SupportAgentError

_ID = re.compile(r"<[^<>\s]+>")
_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "blockquote"}
# Outlook and Gmail wrap the quoted history of an HTML reply in these
_HTML_QUOTES = ("blockquote", "div.gmail_quote", "div.moz-cite-prefix", "div.yahoo_quoted")
# Outlook puts the quoted header block, then the quoted body, after one of these: cut from there
_HTML_CUT_FROM = ("div#appendonsend", "div#divRplyFwdMsg", "hr#stopSpelling")


class BadEmail(SupportAgentError):
    """Mail the channel refuses: `code` is what the log and the dry run report."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # what the sender claimed: listed, never believed (attachments.py sniffs)
    size: int
    data: bytes = field(default=b"", repr=False, compare=False)  # the decoded part


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str  # "<...>", synthesised from the bytes when the mail has none
    subject: str
    sender: str  # the From address, lowercased ("" when there is none)
    sender_name: str
    reply_to: str | None
    in_reply_to: str | None
    references: list[str]
    headers: dict[str, list[str]]  # lowercased name -> values, for the loop guard
    content_type: str
    body: str  # the whole text body
    text: str  # only the new text: what the agent sees
    attachments: list[Attachment] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


def html_to_text(markup: str) -> str:
    """Visible text of an HTML body, quoted history (blockquote, Gmail/Outlook quote blocks)
    removed first, one line per block element."""
    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "head", "title"]):
        tag.decompose()
    for selector in _HTML_QUOTES:
        for tag in soup.select(selector):
            tag.decompose()
    for selector in _HTML_CUT_FROM:
        for tag in soup.select(selector):
            for later in list(tag.find_next_siblings()):
                later.decompose()
            previous = tag.find_previous_sibling()
            if previous is not None and previous.name == "hr":
                previous.decompose()
            tag.decompose()
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in soup.get_text().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _address(value: str | None) -> tuple[str, str]:
    if not value:
        return "", ""
    name, addr = email.utils.parseaddr(str(value))
    return name.strip(), addr.strip().lower()


def _ids(value: str | None) -> list[str]:
    return _ID.findall(str(value or ""))


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name: read it as UTF-8, replacing what fails
        return payload.decode("utf-8", errors="replace")


def _bodies(msg: Message) -> tuple[str, str, list[Attachment]]:
    plain: list[str] = []
    markup: list[str] = []
    attachments: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
        if disposition == "attachment" or (filename and ctype not in ("text/plain", "text/html")):
            raw = part.get_payload(decode=True)
            data = raw if isinstance(raw, bytes) else b""
            attachments.append(Attachment(str(filename or "unnamed")[:200], ctype, len(data), data))
        elif ctype == "text/plain":
            plain.append(_part_text(part))
        elif ctype == "text/html":
            markup.append(_part_text(part))
        elif ctype in ("message/delivery-status", "message/disposition-notification"):
            attachments.append(Attachment(ctype.split("/")[1], ctype, 0))
    return "\n".join(plain), "\n".join(markup), attachments


def parse_email(raw: bytes, *, max_bytes: int) -> ParsedEmail:
    """Raises BadEmail("oversize" | "malformed" | "empty")."""
    if len(raw) > max_bytes:
        raise BadEmail("oversize", f"the message is {len(raw):,} bytes; the limit is {max_bytes:,}")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        headers: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            headers.setdefault(name.lower(), []).append(_decode_header(value))
        plain, markup, attachments = _bodies(msg)
    except Exception as exc:  # the stdlib parser's many failure modes on hostile input
        raise BadEmail(
            "malformed", f"the message could not be parsed: {type(exc).__name__}"
        ) from exc
    if not headers or (msg.defects and not (plain or markup) and not headers.get("from")):
        raise BadEmail("malformed", "the message has no usable headers or body")
    body = plain if plain.strip() else html_to_text(markup) if markup.strip() else ""
    sender_name, sender = _address(headers.get("from", [""])[0])
    _, reply_to = _address(headers.get("reply-to", [""])[0])
    found = _ids(headers.get("message-id", [""])[0])
    message_id = found[0] if found else f"<sha256-{hashlib.sha256(raw).hexdigest()[:40]}@missing>"
    return ParsedEmail(
        message_id=message_id[:300],
        subject=headers.get("subject", [""])[0].strip()[:500],
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to or None,
        in_reply_to=next(iter(_ids(headers.get("in-reply-to", [""])[0])), None),
        references=_ids(" ".join(headers.get("references", []))),
        headers=headers,
        content_type=msg.get_content_type(),
        body=body,
        text=new_text(body),
        attachments=attachments,
    )


def _decode_header(value: object) -> str:
    """RFC 2047 words decoded; a header that cannot be decoded is kept as its raw text."""
    text = re.sub(r"\r?\n[ \t]+", " ", str(value))  # unfolded
    if any("\udc80" <= ch <= "\udcff" for ch in text):  # raw UTF-8 (RFC 6532) read as bytes
        text = text.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    if "=?" not in text:
        return text
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except Exception:
        return text
