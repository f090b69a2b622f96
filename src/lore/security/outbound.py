"""Where Lore itself may connect (an SSRF guard), for webhooks' endpoints and websites a sync fetches.

    >>> refusal("hooks.example.com", 443, allow_loopback=False) is None
    True

Every address a host resolves to must be public (`is_global`, not multicast). Loopback is allowed only when the
caller's setting says so (`LORE_WEBHOOK_ALLOW_LOOPBACK`, `LORE_CRAWL_ALLOW_LOOPBACK`: development and tests);
private, link-local, shared and other non-public addresses never are.
"""

from __future__ import annotations

import ipaddress
import socket

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    found = (ipaddress.ip_address(info[4][0]) for info in infos)
    return [a.ipv4_mapped if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped else a for a in found]


def is_loopback(addresses: list[Address]) -> bool:
    return bool(addresses) and all(address.is_loopback for address in addresses)


def refusal(host: str, port: int, *, allow_loopback: bool) -> str | None:
    """Why Lore may not connect to `host` (None: it may)."""
    addresses = resolve(host, port)
    if not addresses:
        return f"{host} does not resolve"
    if is_loopback(addresses):
        return None if allow_loopback else f"{host} is this machine (loopback is not allowed)"
    for address in addresses:
        if not address.is_global or address.is_multicast:
            return f"{host} resolves to a non-public address ({address})"
    return None
