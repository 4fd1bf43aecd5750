"""Guardrails: named checks that return a GuardrailResult (STYLE.md #10), unit-tested without a
model. The handoff and refusal checks on the customer's message are in agent/triggers.py; this
module holds the result type and the checks on what the bot says.

`check_reply_links` removes every link and email address outside the store's trusted set
(knowledge/links.py: the store's own domain, its carriers, `allowed_link_domains`) from a bot
reply, whichever engine wrote it and whatever a help-center passage or a customer talked it
into. `ReplyLinkStream` applies the same check to streamed tokens without letting a link through
in pieces: a link never contains whitespace, so text is released up to the last whitespace and
the word still being written waits for the next token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from knowledge.links import TrustedLinks, find_links

log = logging.getLogger(__name__)

LINK_REMOVED = "(link removed)"
ADDRESS_REMOVED = "(address removed)"
_ADDRESS = re.compile(r"[\w.+-]+@(?:[\w-]+\.)+[\w-]{2,}")


@dataclass(frozen=True)
class GuardrailResult:
    tripped: bool
    reason: str = ""  # a handoff: an escalate_to_human reason; otherwise what was found
    summary: str = ""  # for staff, when the conversation is handed over
    text: str = ""  # a rewriting guardrail: the text to use instead
    refuse: bool = False  # answer with a short refusal instead of running the model


def check_reply_links(
    text: str, allowed: TrustedLinks, *, known_addresses: Iterable[str] = ()
) -> GuardrailResult:
    """Replace links and email addresses outside `allowed` with a neutral phrase.

    `known_addresses`: addresses the conversation itself supplied (the customer's own, typed by
    them or read from the store), which may be repeated back to the customer.
    """
    allowed = allowed.with_addresses(known_addresses)
    found = [link for link in find_links(text) if not allowed.allows(link)]
    if not found:
        return GuardrailResult(False, text=text)
    parts: list[str] = []
    last = 0
    for link in found:
        parts.append(text[last : link.start])
        parts.append(ADDRESS_REMOVED if link.address else LINK_REMOVED)
        last = link.end
    parts.append(text[last:])
    hosts = ", ".join(sorted({link.host or "?" for link in found}))
    return GuardrailResult(True, reason=f"removed links to {hosts}", text="".join(parts))


def addresses_in(texts: Iterable[str]) -> set[str]:
    """Email addresses in `texts` (lower-cased)."""
    return {m.group(0).lower() for t in texts for m in _ADDRESS.finditer(t)}


class ReplyLinkStream:
    """One turn's streamed tokens through `check_reply_links`.

    `feed` returns the text that is safe to send now; `flush` the rest at the end of the turn.
    A Markdown link whose label has spaces streams as its label and a removed target, while the
    stored reply (checked whole) loses the whole link; both are free of the link itself.
    """

    def __init__(self, allowed: TrustedLinks, *, known_texts: Iterable[str] = ()) -> None:
        """`known_texts`: what the customer wrote; their own addresses may be repeated."""
        self._allowed = allowed
        self._known = addresses_in(known_texts)
        self._held = ""
        self.removed: list[str] = []  # reasons, for the log

    def reset(self) -> None:
        """Drop a held word: the stream that wrote it failed and another engine answers."""
        self._held = ""

    def trust_own(self, host: str) -> None:
        """A passage quoted this turn comes from a help center whose own domain is `host`
        (knowledge/links.py own_host): its contact address and pages may be repeated."""
        self._allowed = self._allowed.with_own(host)

    def learn(self, text: str) -> None:
        """Addresses the store's tools returned this turn may be repeated (the customer's own)."""
        self._known |= addresses_in([text])

    def _check(self, text: str) -> str:
        result = check_reply_links(text, self._allowed, known_addresses=self._known)
        if result.tripped:
            self.removed.append(result.reason)
        return result.text

    def feed(self, token: str) -> str:
        text = self._held + token
        cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
        if cut < 0:
            self._held = text
            return ""
        self._held = text[cut + 1 :]
        return self._check(text[: cut + 1])

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._check(text) if text else ""

    def check_final(self, text: str, conversation_id: str) -> GuardrailResult:
        """The whole reply as it will be stored and sent; logs what was removed."""
        result = check_reply_links(text, self._allowed, known_addresses=self._known)
        if result.tripped:
            log.warning("reply in conversation %s: %s", conversation_id, result.reason)
        return result
