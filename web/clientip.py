"""Who is on the other end: the client IP of an HTTP request or a WebSocket, for rate limits and
lock-outs keyed on it.

The socket peer is the client unless the peer is one of our reverse proxies
(`settings.trusted_proxies`, IPs or CIDRs). Then the client is the right-most X-Forwarded-For
entry that is not itself a trusted proxy: each proxy appends the address it saw, so entries to
the right of the first untrusted one were written by our proxies, and everything to its left
was written by the client and may be forged. A peer we do not trust gets no say at all: an
attacker rotating X-Forwarded-For stays one client."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"


@lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in trusted if item)


def parse_ip(value: str) -> Address | None:
    """An address from a peer or a forwarded entry ("1.2.3.4", "1.2.3.4:80", "[::1]:80");
    IPv4-mapped IPv6 becomes IPv4. None when it is not an address."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address in network for network in networks)


def resolve_client_ip(
    peer: str | None, forwarded_for: Sequence[str], trusted_proxies: Sequence[str]
) -> str:
    """The client's address as text (see the module docstring)."""
    peer_address = parse_ip(peer or "")
    if peer_address is None:
        return (peer or UNKNOWN)[:64]  # e.g. a unix socket or a test client's name
    networks = _networks(tuple(trusted_proxies))
    if not _trusted(peer_address, networks):
        return str(peer_address)
    entries = [e for header in forwarded_for for e in header.split(",") if e.strip()]
    client = peer_address
    for entry in reversed(entries):
        address = parse_ip(entry)
        if address is None:
            break  # garbage a proxy passed on: keep the last hop we can vouch for
        client = address
        if not _trusted(address, networks):
            break
    return str(client)


def client_ip(conn: HTTPConnection, trusted_proxies: Sequence[str]) -> str:
    """The client IP of a Request or a WebSocket (both are HTTPConnections)."""
    peer = conn.client.host if conn.client else None
    return resolve_client_ip(peer, conn.headers.getlist("x-forwarded-for"), trusted_proxies)


def ip_bucket(ip: str) -> str:
    """What a per-IP limit counts on: the address, or its /64 for IPv6 (one subscriber usually
    holds a whole /64, so counting single addresses would be no limit at all)."""
    address = parse_ip(ip)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address) if address is not None else ip
