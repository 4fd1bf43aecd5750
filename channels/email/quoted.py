"""The new text of a reply: quoted history and signature removed, so the agent reads what the
customer wrote now and never an instruction (or an old question) that only sits in the quote.

Two passes. Ours cuts at the first quote header of the common clients (Gmail, Apple Mail and
Thunderbird "On ... wrote:", wrapped over two lines too, and their French, German, Spanish,
Italian, Dutch and Portuguese forms; Outlook's "-----Original Message-----", its underscore rule
and its "From:/Sent:" block), drops every ">" line, and cuts at a signature ("-- ", "Sent from
my iPhone", "Get Outlook for ..."). Then email-reply-parser (GitHub's rules) runs on what is
left; if it leaves nothing, our cut stands."""

from __future__ import annotations

import re

from email_reply_parser import EmailReplyParser

_WROTE = r"wrote|a écrit|schrieb|escribió|ha scritto|schreef|escreveu|skrev|napisał|написал"
_QUOTE_HEADER = re.compile(
    rf"^\s*(On|Le|Am|El|Il|Op|Em|Den|W dniu|Dnia)\b.{{0,300}}?\b({_WROTE})(\s.{{0,150}})?:\s*$",
    re.IGNORECASE,
)
_QUOTE_HEADER_START = re.compile(r"^\s*(On|Le|Am|El|Il|Op|Em)\s.{5,}$", re.IGNORECASE)
_OUTLOOK = re.compile(
    r"^\s*(-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|"
    r"Messaggio originale)\s*-{2,}|_{10,})\s*$",
    re.IGNORECASE,
)
_HEADER_LINE = re.compile(r"^\s*\*?(From|De|Von|Van|Da|Från)\s*:\*?\s+\S", re.IGNORECASE)
_SENT_LINE = re.compile(
    r"^\s*\*?(Sent|Date|Envoyé|Gesendet|Enviado|Inviato|Verzonden|To|Subject)\s*:\*?\s",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(
    r"^\s*(--\s*|__\s*|Sent from my \w+.*|Sent from (Mail|Outlook|Yahoo Mail).*|"
    r"Get Outlook for .*|Envoyé de mon \w+.*|Von meinem \w+ gesendet.*|Enviado desde mi \w+.*)$",
    re.IGNORECASE,
)


def _cut(lines: list[str]) -> list[str]:
    kept: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _QUOTE_HEADER.match(line) and not any(k.strip() for k in kept):
            continue  # bottom-posting: the quote comes first, the answer below it
        if _QUOTE_HEADER.match(line) or _OUTLOOK.match(line):
            break
        if _QUOTE_HEADER_START.match(line) and re.match(
            rf"^.{{0,200}}\b({_WROTE})(\s.{{0,150}})?:\s*$", nxt
        ):
            break  # Gmail wraps a long "On <date> <name> <address>\nwrote:" over two lines
        if _HEADER_LINE.match(line) and _SENT_LINE.match(nxt):
            break  # Outlook's header block without a rule above it
        if _SIGNATURE.match(line):
            break
        if line.lstrip().startswith(">"):
            continue  # quoted, possibly interleaved with answers
        kept.append(line)
    return kept


def new_text(body: str) -> str:
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    ours = "\n".join(_cut(text.split("\n"))).strip()
    if not ours:
        return ""
    theirs = EmailReplyParser.parse_reply(ours).strip()
    return theirs or ours
