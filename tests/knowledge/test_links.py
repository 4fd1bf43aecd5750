"""Links and addresses in text, and which hosts the store trusts (knowledge/links.py)."""

from __future__ import annotations

import pytest

from knowledge.links import CARRIER_HOSTS, TrustedLinks, find_links, foreign_links
from settings import Settings

TRUSTED = TrustedLinks.of(["northwind.example", "ups.com"], ["help@gmail.com"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "see https://www.ups.com/track?n=1Z9.",
            [("https://www.ups.com/track?n=1Z9", "www.ups.com")],
        ),
        ("at www.parcel-claims.com today", [("www.parcel-claims.com", "www.parcel-claims.com")]),
        (
            "sizing.northwind-fit.co/chart, then",
            [("sizing.northwind-fit.co/chart", "sizing.northwind-fit.co")],
        ),
        ("visit northwind-coupons.xyz!", [("northwind-coupons.xyz", "northwind-coupons.xyz")]),
        ("mail a@b-c.net.", [("a@b-c.net", "b-c.net")]),
        ("[help](https://evil.com/x) now", [("[help](https://evil.com/x)", "evil.com")]),
        ("<https://evil.com/x>", [("https://evil.com/x", "evil.com")]),
        ("write to mailto:x@evil.org", [("mailto:x@evil.org", "evil.org")]),
        (
            "https://northwind.example@evil.com/",
            [("https://northwind.example@evil.com/", "evil.com")],
        ),
        ("northwind.example/giftcards", [("northwind.example/giftcards", "northwind.example")]),
    ],
)
def test_finds_links_and_their_hosts(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(link.text, link.host) for link in find_links(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "Prices end in .97, e.g. $19.97, i.e. clearance.",
        "Read returns.md and label.pdf in the U.S. office.",
        "Account > Privacy > Download my data",
        "Version 2.5 ships on 12.03.",
    ],
)
def test_prose_has_no_links(text: str) -> None:
    assert list(find_links(text)) == []


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("northwind.example", True),
        ("returns.northwind.example", True),  # subdomains of a trusted host
        ("WWW.UPS.COM", True),
        ("northwind.example.evil.com", False),  # the trusted name as a subdomain of another
        ("evilnorthwind.example", False),
        ("nоrthwind.example", False),  # Cyrillic о
        ("", False),
    ],
)
def test_host_matching(host: str, allowed: bool) -> None:
    assert TRUSTED.allows_host(host) is allowed


def test_exact_addresses_are_trusted_not_their_domain() -> None:
    assert [link.address for link in foreign_links("help@gmail.com or x@gmail.com", TRUSTED)] == [
        "x@gmail.com"
    ]


def test_from_settings_store_domain_carriers_and_configured_hosts() -> None:
    settings = Settings(
        env="test",
        public_url="https://support.acme.test/chat",
        support_email="care@acme.test",
        allowed_link_domains=["https://Klarna.com/", "*.afterpay.com"],
    )
    trusted = TrustedLinks.from_settings(settings)
    assert {"support.acme.test", "acme.test", "klarna.com", "afterpay.com"} <= trusted.hosts
    assert set(CARRIER_HOSTS) <= trusted.hosts
    assert trusted.allows_host("portal.afterpay.com")


def test_a_support_inbox_at_a_mail_provider_trusts_that_inbox_only() -> None:
    trusted = TrustedLinks.from_settings(Settings(env="test", support_email="acme@gmail.com"))
    assert "gmail.com" not in trusted.hosts
    assert [link.address for link in foreign_links("acme@gmail.com, a@gmail.com", trusted)] == [
        "a@gmail.com"
    ]
