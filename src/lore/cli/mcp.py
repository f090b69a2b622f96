"""`lore mcp`: serve Lore's MCP tools and documents on stdin/stdout to a local MCP client (docs/mcp.md).

Whom it acts as, safest first: with `--key` (or `LORE_KEY`), that key, with its tenant, scopes, collections and
groups, exactly as over HTTP; without one, the operator of `--tenant`, who reads every document of the tenant
(as the other commands do) but may only search, ask and read unless `--write` lets it add documents too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lore.cli.common import DataDir, check_data_dir, open_store, settings_for
from lore.models import DEFAULT_TENANT

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.security.principal import Principal


def mcp(
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            envvar="LORE_KEY",
            help="Act as this API key (default: the tenant's operator).",
            show_default=False,
        ),
    ] = None,
    tenant: Annotated[
        str, typer.Option("--tenant", help="The operator's tenant (without --key).")
    ] = DEFAULT_TENANT,
    write: Annotated[
        bool, typer.Option("--write", help="Without --key: let the client add documents too.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Serve the MCP protocol on stdin/stdout (logs on stderr) to a local MCP client."""
    from functools import partial

    import anyio

    from lore.errors import InvalidInput
    from lore.logs import configure
    from lore.mcp.stdio import serve

    if key is not None and write:
        raise InvalidInput(
            "--write is for the operator: with a key, the key's scopes decide", details={"option": "--write"}
        )
    settings = settings_for(data_dir)
    check_data_dir(settings, create=False)
    configure(settings.logging)
    identify = partial(_principal, key=key, tenant=tenant, write=write)
    with open_store(data_dir) as db:
        identify(db)  # a refused key is one line on stderr before serving, not a client that cannot connect
    anyio.run(serve, settings, identify)


def _principal(db: Database, *, key: str | None, tenant: str, write: bool) -> Principal:
    from dataclasses import replace

    from lore.security.keys import KeyRing
    from lore.security.principal import operator
    from lore.security.scopes import Scope

    if key is not None:
        return KeyRing(db.api_keys, db.tenants).authenticate(key)
    db.tenants.require(tenant)
    scopes = {Scope.SEARCH, Scope.ASK, Scope.DOCUMENTS_READ} | ({Scope.DOCUMENTS_WRITE} if write else set())
    return replace(operator(tenant), scopes=frozenset(scopes))
