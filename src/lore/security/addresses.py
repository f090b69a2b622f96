"""The client address of a request: the peer, unless the peer is a trusted reverse proxy, whose
`X-Forwarded-For` then names the client.

    >>> ClientAddresses("10.0.0.0/8").of("10.0.0.2", "203.0.113.7, 10.0.0.3")
    '203.0.113.7'

Only proxies the operator names are believed: anyone else can write any `X-Forwarded-For` they like. The
header is read from the right (each proxy appends the address it saw), skipping trusted proxies; the first
address left is the client.
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddresses:
    def __init__(self, trusted_proxies: str) -> None:
        self.trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in trusted_proxies.split(",")
            if part.strip()
        )

    def is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def of(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The client's address (None when the server does not know its peer, as on a Unix socket)."""
        if peer is None or forwarded_for is None or not self.is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop if _is_address(hop) else peer
        return hops[0] if hops else peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
