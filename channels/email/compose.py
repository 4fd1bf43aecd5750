"""Our outgoing mail: threaded so it lands in the customer's thread (In-Reply-To, References,
"Re:" subject with the conversation's token), a Message-ID fixed when the reply is queued (a
resend after a crash carries the same one, so the customer's client shows it once), and two
parts rendered from the reply's Markdown subset (markdown_safe: text and sanitised HTML).

Bot replies carry `Auto-Submitted: auto-replied` (RFC 3834) so other robots do not answer them;
all our mail asks Exchange not to auto-respond (`X-Auto-Response-Suppress`)."""

from __future__ import annotations

import email.policy
import email.utils
import re
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import markdown_safe

TOKEN = re.compile(r"\[#([0-9a-f]{10})\]")
_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|fwd?|tr|rif)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
MAX_REFERENCES = 20


def thread_token(conversation_id: str) -> str:
    return f"[#{conversation_id[:10]}]"


def reply_subject(subject: str, conversation_id: str) -> str:
    """'Re: <original subject> [#token]', whatever prefixes and token the original carried."""
    bare = TOKEN.sub("", _PREFIX.sub("", subject or "")).strip() or "Your message"
    return f"Re: {bare[:180]} {thread_token(conversation_id)}"


def message_id_for(reply_id: str, domain: str) -> str:
    return f"<reply-{reply_id}@{domain}>"


def references_for(in_reply_to: str | None, references: list[str]) -> list[str]:
    refs = [r for r in references if r != in_reply_to]
    if in_reply_to:
        refs.append(in_reply_to)
    # RFC 5322: keep the thread's first message and the most recent ones
    return refs if len(refs) <= MAX_REFERENCES else [refs[0], *refs[-(MAX_REFERENCES - 1) :]]


def build_message(payload: dict[str, Any]) -> EmailMessage:
    """The MIME message for an outbox payload (see outbound.reply_payload). Pure: the same
    payload gives the same headers and parts."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = email.utils.formataddr((payload.get("from_name") or "", payload["from"]))
    msg["To"] = payload["to"]
    msg["Subject"] = payload["subject"]
    msg["Message-ID"] = payload["message_id"]
    msg["Date"] = email.utils.format_datetime(datetime.fromisoformat(payload["date"]))
    if payload.get("in_reply_to"):
        msg["In-Reply-To"] = payload["in_reply_to"]
    if payload.get("references"):
        msg["References"] = " ".join(payload["references"])
    if payload.get("auto", True):
        msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    # extra headers of notifications (List-Unsubscribe, Auto-Submitted: auto-generated)
    for name, value in (payload.get("headers") or {}).items():
        if value:
            msg[name] = value
    text = payload["text"]
    msg.set_content(markdown_safe.to_text(text) + "\n")
    msg.add_alternative(_html(text), subtype="html")
    return msg


def _html(text: str) -> str:
    body = markdown_safe.to_html(text)
    return f'<!doctype html><html><body><div dir="auto">{body}</div></body></html>'
