"""`lore mcp`: the MCP server on stdin and stdout, over this machine's data dir, for a desktop MCP client.

It calls as one principal, chosen by `identify` (`lore.cli.mcp`): a key's, or the operator's of a tenant with
reading scopes only (writing when asked). `identify` runs for every request, so a key revoked or expired while
the client is connected stops working at once. Nothing but the protocol reaches stdout:
while it serves, the SDK points file descriptor 1 at stderr for everything else, and Lore opens inside that; logs
go to stderr. No rate limits apply here, as for every other command run on the machine."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from mcp.server import ServerRequestContext
from mcp.server.stdio import stdio_server

from lore.api.audit import RequestAudit
from lore.config import Settings
from lore.conversations import open_answering
from lore.mcp.server import build_server
from lore.mcp.tools import Backing, Call
from lore.security.audit import AuditLog
from lore.security.principal import Principal
from lore.service import Lore

if TYPE_CHECKING:
    from lore.backends.store.database import Database

E = TypeVar("E")


class Unmetered:
    """The operator's machine: no quotas to check, no usage of an API client to count."""

    async def admit(self, principal: Principal, route: str) -> None:
        return None

    def succeeded(self, route: str) -> None:
        return None

    def answered(self, principal: Principal, events: Iterator[E]) -> Iterator[E]:
        return events


Identify = Callable[["Database"], Principal]


async def serve(settings: Settings, identify: Identify) -> None:
    """Serve until the client closes stdin."""
    async with stdio_server() as (read, write):
        lore = await anyio.to_thread.run_sync(Lore.open, settings)
        try:
            backing = Backing(lore, open_answering(lore))
            log = AuditLog(lore.store.audit)

            def stdio_call(_ctx: ServerRequestContext[Any, Any]) -> Call:
                principal = identify(lore.store)
                audit = RequestAudit(log, principal.tenant_id, principal.actor, uuid.uuid4().hex, None)
                return Call(principal, backing, audit, Unmetered())

            server = build_server(stdio_call)
            await server.run(read, write, server.create_initialization_options())
        finally:
            await anyio.to_thread.run_sync(lore.close)
