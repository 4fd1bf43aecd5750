"""Client IPs from the socket peer and X-Forwarded-For (web/clientip.py)."""

from __future__ import annotations

import pytest

from web.clientip import ip_bucket, parse_ip, resolve_client_ip

PROXIES = ["10.0.0.0/8", "192.0.2.1"]


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert resolve_client_ip("203.0.113.7", ["1.1.1.1"], []) == "203.0.113.7"
    assert resolve_client_ip("203.0.113.7", ["1.1.1.1, 10.0.0.2"], PROXIES) == "203.0.113.7"


def test_behind_trusted_proxies_the_right_most_untrusted_entry_wins() -> None:
    # the client forged "6.6.6.6"; our proxies appended what they saw
    assert resolve_client_ip("10.0.0.5", ["6.6.6.6, 198.51.100.4"], PROXIES) == "198.51.100.4"
    assert (
        resolve_client_ip("10.0.0.5", ["6.6.6.6, 198.51.100.4", "10.1.2.3"], PROXIES)
        == "198.51.100.4"
    )
    assert resolve_client_ip("192.0.2.1", ["198.51.100.4:51234"], PROXIES) == "198.51.100.4"


def test_behind_a_trusted_proxy_without_a_usable_header_the_last_trusted_hop_is_used() -> None:
    assert resolve_client_ip("10.0.0.5", [], PROXIES) == "10.0.0.5"
    assert resolve_client_ip("10.0.0.5", ["10.0.0.9"], PROXIES) == "10.0.0.9"
    assert resolve_client_ip("10.0.0.5", ["198.51.100.4, garbage"], PROXIES) == "10.0.0.5"


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("198.51.100.4", "198.51.100.4"),
        (" 198.51.100.4:80 ", "198.51.100.4"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ("unknown", None),
    ],
)
def test_parse_ip(raw: str, parsed: str | None) -> None:
    address = parse_ip(raw)
    assert (str(address) if address else None) == parsed


def test_ipv6_clients_are_counted_per_64() -> None:
    assert ip_bucket("2001:db8:1:2:aaaa::1") == ip_bucket("2001:db8:1:2:bbbb::9")
    assert ip_bucket("2001:db8:1:2::1") != ip_bucket("2001:db8:1:3::1")
    assert ip_bucket("198.51.100.4") == "198.51.100.4"
