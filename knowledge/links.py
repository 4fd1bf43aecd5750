"""Links and email addresses in text, and which of them point somewhere the store trusts.

Used twice: at ingest, help-center text that links or sends customers outside the store is
flagged (knowledge/untrusted.py); and every bot reply is cleaned of links outside the trusted set
before it is stored or streamed (agent/guardrails.py). One parser, so the two cannot disagree on
what a link is.

A link is a URL with a scheme, a `www.` host, a Markdown link, a `mailto:` address or a bare
domain (`northwind-refunds.com/claim`: a known top-level domain, or any with a path). Hosts are
compared after lower-casing; a subdomain of a trusted host is trusted, a look-alike is not
(`northwind.example.evil.com`, `evilnorthwind.example`, a Cyrillic `о` in place of `o`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from settings import Settings

# Tracking and label hosts of the carriers the bundled backends link to: the demo store's
# tracking URLs (commerce/demo/shipping.py) and return labels (commerce/demo/returns.yaml, on the
# store's own domain). Shopify passes each fulfilment's tracking URL through as the carrier gave
# it; a store whose carriers link elsewhere lists them in SUPPORT_ALLOWED_LINK_DOMAINS.
# tests/agent/test_guardrails.py checks every URL the demo backend can produce is trusted.
CARRIER_HOSTS = ("ups.com", "usps.com", "fedex.com", "dhl.com")

# Mail providers anyone can open an address at: the support address's domain is trusted only
# when it is the store's own, never "gmail.com" because the support inbox happens to be there.
_SHARED_MAIL = frozenset(
    "gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com icloud.com "
    "me.com aol.com proton.me protonmail.com gmx.com gmx.de mail.com yandex.ru zoho.com".split()
)

# top-level domains common enough that a bare "name.tld" is a link even without a path
_TLDS = (
    "com|net|org|info|biz|io|co|app|dev|xyz|top|shop|store|online|site|website|help|support|"
    "link|click|live|me|ly|gl|to|tk|ml|ga|cf|gq|pw|cc|ws|la|ai|us|uk|de|fr|es|it|nl|eu|ca|au|"
    "ru|cn|jp|in|br|pl|se|no|fi|dk|be|ch|at|ie|nz|mx|ar|za|kr|hk|sg|tr|ua|pt|gr|il|su|tv|fm|"
    "page|email|money|pay|bank|today|network|services|center|delivery|express|claims|deals|"
    "sale|gift|gifts|promo|coupons|club|vip|win|bid|loan|review|trade|market|agency"
)
_URL_CHARS = r"[^\s<>\"'`()\[\]{}]"
_EMAIL = r"[\w.+-]+@(?:[\w-]+\.)+[\w-]{2,}"
_PATTERN = re.compile(
    rf"(?P<markdown>\[(?P<label>[^\]\n]{{0,200}})\]\(\s*<?(?P<target>[^)\s>]+)>?[^)\n]*\))"
    rf"|(?P<url>\b(?:https?|ftp)://{_URL_CHARS}+)"
    rf"|(?P<mailto>\bmailto:{_EMAIL})"
    rf"|(?P<email>(?<![\w.+-]){_EMAIL})"
    rf"|(?P<www>\bwww\.(?:[\w-]+\.)+[\w-]{{2,}}(?:[/?#]{_URL_CHARS}*)?)"
    rf"|(?P<bare>(?<![\w.@/-])(?:[\w-]+\.)+(?:(?:{_TLDS})\b(?![.-]\w)(?:[/?#]{_URL_CHARS}*)?"
    rf"|[a-z]{{2,}}/{_URL_CHARS}*))",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?'\"”’)]*_"


@dataclass(frozen=True)
class Link:
    start: int
    end: int
    text: str  # as written (for a Markdown link, the whole `[label](target)`)
    host: str  # lower-cased; for an email address, its domain
    address: str | None = None  # the email address, for `email` and `mailto` links
    kind: str = "url"  # url | markdown | email


def _host(target: str) -> str:
    if "://" not in target and not target.lower().startswith("mailto:"):
        target = "http://" + target
    if target.lower().startswith("mailto:"):
        return target.rsplit("@", 1)[-1].lower().rstrip(".")
    try:
        return (urlsplit(target).hostname or "").rstrip(".")
    except ValueError:  # a malformed port or bracket: unknown, so not trusted
        return ""


def find_links(text: str) -> Iterator[Link]:
    """Every link and email address in `text`, in order."""
    for match in _PATTERN.finditer(text):
        raw = match.group(0)
        if match.group("markdown"):
            host = _host(match.group("target"))
            yield Link(match.start(), match.end(), raw, host, None, "markdown")
            continue
        trimmed = raw.rstrip(_TRAILING)
        if not trimmed:
            continue
        end = match.start() + len(trimmed)
        if match.group("email") or match.group("mailto"):
            address = trimmed.split(":", 1)[-1] if match.group("mailto") else trimmed
            domain = address.rsplit("@", 1)[-1].lower()
            yield Link(match.start(), end, trimmed, domain, address.lower(), "email")
        else:
            yield Link(match.start(), end, trimmed, _host(trimmed), None, "url")


def _normal_host(value: str) -> str:
    value = value.strip().lower()
    if "@" in value and "://" not in value:
        value = value.rsplit("@", 1)[-1]
    host = _host(value) if ("/" in value or ":" in value) else value
    return host.removeprefix("*.").removeprefix(".").rstrip(".")


@dataclass(frozen=True)
class TrustedLinks:
    """Hosts (and their subdomains) and exact email addresses a customer may be sent to."""

    hosts: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()
    # No store identity is configured (the demo's support address, no public URL, Shopify
    # domain or allowed domains): the domain a merchant's own help center uses throughout is
    # read as theirs (`own_host`); once the store is configured, only what it names is trusted.
    infer_own: bool = False

    @classmethod
    def of(
        cls, hosts: Iterable[str] = (), addresses: Iterable[str] = (), *, infer_own: bool = False
    ) -> TrustedLinks:
        return cls(
            frozenset(h for h in map(_normal_host, hosts) if h),
            frozenset(a.strip().lower() for a in addresses if a.strip()),
            infer_own,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> TrustedLinks:
        """The store's own domain (public URL, support address, Shopify domain), the carriers'
        hosts and `allowed_link_domains`."""
        hosts = [*CARRIER_HOSTS, *settings.allowed_link_domains]
        for url in (settings.public_url, settings.shopify_domain):
            if url:
                hosts.append(url)
        support = settings.support_email.strip().lower()
        domain = support.rsplit("@", 1)[-1]
        if domain and domain not in _SHARED_MAIL:
            hosts.append(domain)
        configured = bool(
            settings.public_url
            or settings.shopify_domain
            or settings.allowed_link_domains
            or "support_email" in settings.model_fields_set
        )
        return cls.of(hosts, [support], infer_own=not configured)

    def with_own(self, host: str) -> TrustedLinks:
        """These links and a help center's own domain (`own_host`), while the store's identity
        is not configured; as they are once it is."""
        if not host or not self.infer_own:
            return self
        return TrustedLinks(self.hosts | {host}, self.addresses, self.infer_own)

    def with_addresses(self, addresses: Iterable[str]) -> TrustedLinks:
        more = {a.strip().lower() for a in addresses if a.strip()}
        return TrustedLinks(self.hosts, self.addresses | more) if more else self

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return bool(host) and any(host == h or host.endswith("." + h) for h in self.hosts)

    def allows(self, link: Link) -> bool:
        if link.address is not None and link.address in self.addresses:
            return True
        return self.allows_host(link.host)


def foreign_links(text: str, trusted: TrustedLinks) -> list[Link]:
    """The links and addresses in `text` that `trusted` does not allow."""
    return [link for link in find_links(text) if not trusted.allows(link)]


# A help center's own domain: used in this many passages at least, and by this share of the
# passages that name any domain the store does not (one injected "email billing@…" is neither)
OWN_HOST_MIN_PASSAGES = 3
OWN_HOST_SHARE = 0.6


def own_host(texts: Iterable[str], trusted: TrustedLinks) -> str:
    """The domain an ingested help center uses throughout (its contact address, its pages), or
    "": only while the store's identity is not configured (`TrustedLinks.infer_own`), never a
    shared mail provider's."""
    if not trusted.infer_own:
        return ""
    naming = []  # per passage that names any, the untrusted domains it names
    for text in texts:
        hosts = {_normal_host(link.host) for link in foreign_links(text, trusted)}
        if hosts := {h.removeprefix("www.") for h in hosts if h}:
            naming.append(hosts)
    counts = Counter(h for hosts in naming for h in hosts)
    if not counts:
        return ""
    host, n = counts.most_common(1)[0]
    if host in _SHARED_MAIL or n < OWN_HOST_MIN_PASSAGES or n < OWN_HOST_SHARE * len(naming):
        return ""
    return host
