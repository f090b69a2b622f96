"""Allowed hosts: a request must name, in its `Host` header, a host this server answers to. Binding to loopback
does not keep browsers out: a page whose domain an attacker re-points at 127.0.0.1 (DNS rebinding) reaches the
server as the same origin, but its requests still carry the attacker's host name, and are refused here."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from lore.api.errors import ErrorResponse
from lore.api.hardening.request_headers import request_headers
from lore.config import WILDCARD_BINDS, Settings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """Host names answered exactly, domains whose subdomains are answered (`*.example.com`), or any host."""

    names: frozenset[str]
    domains: tuple[str, ...] = ()
    any_host: bool = False

    @classmethod
    def of(cls, settings: Settings) -> HostPolicy:
        """Loopback names, the bound address unless it is a wildcard, and `allowed_hosts`."""
        configured = settings.http.allowed_hosts
        names = {name for name in configured if not name.startswith("*")} | LOOPBACK_NAMES
        bound = settings.serving.host.lower()
        if bound not in WILDCARD_BINDS:
            names.add(f"[{bound}]" if ":" in bound and not bound.startswith("[") else bound)
        domains = tuple(name[1:] for name in configured if name.startswith("*."))
        return cls(frozenset(names), domains, "*" in configured)

    def allows(self, host: str) -> bool:
        return self.any_host or host in self.names or host.endswith(self.domains)


def host_name(header: str | None) -> str | None:
    """The host of a `Host` header (`[::1]:8000` -> `[::1]`), lower-cased; None if it is missing or malformed."""
    if not header or any(char in header for char in " /\\@?#"):
        return None
    host = header.lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end > 0 and host[end + 1 :][:1] in ("", ":") else None
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name.rstrip(".") if name and ":" not in name else None


class AllowedHosts:
    """Pure ASGI middleware: 400 `invalid_host` for a request whose `Host` the policy does not allow."""

    def __init__(self, app: ASGIApp, *, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.policy.any_host:
            await self.app(scope, receive, send)
            return
        header = request_headers(scope).get("host")
        host = host_name(header)
        if host is not None and self.policy.allows(host):
            await self.app(scope, receive, send)
            return
        message = (
            f"this server does not answer for host {header!r}: add it to LORE_ALLOWED_HOSTS"
            if header
            else "the request names no host (Host header)"
        )
        await ErrorResponse(400, "invalid_host", message, {"host": header})(scope, receive, send)
