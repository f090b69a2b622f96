"""`lore keys create|list|revoke|rotate`: API keys, managed by the operator on the machine, against the store.

lore keys create --tenant default --scope search --scope ask --name "help centre"
lore keys create --scope admin --json | jq -r .key
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from lore.cli.common import DataDir, JsonFlag, console, open_store, print_json
from lore.cli.ids import resolve
from lore.cli.tables import show, table, when
from lore.errors import InvalidInput
from lore.models import DEFAULT_TENANT
from lore.security.keys_model import KeyKind
from lore.security.principal import operator
from lore.security.scopes import parse_scopes

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.security.keys import KeyRing

app = typer.Typer(help="Create, list, revoke and rotate API keys.", no_args_is_help=True)

OPERATOR = operator(DEFAULT_TENANT).actor
TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The key's tenant.")]
KeyId = Annotated[str, typer.Argument(help="A key's id, or a unique prefix of it.")]


def _ring(db: Database) -> KeyRing:
    from lore.security.keys import KeyRing

    return KeyRing(db.api_keys, db.tenants)


def _audit(db: Database, tenant: str, action: str, target: str, summary: dict[str, object]) -> None:
    from lore.security.audit import AuditLog

    AuditLog(db.audit).record(tenant, OPERATOR, action, target=target, summary=summary)


@app.command("create")
def create(
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="A scope the key holds (repeatable).")],
    tenant: TenantOption = DEFAULT_TENANT,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "cli",
    kind: Annotated[KeyKind, typer.Option(help="secret, or publishable (search and ask only).")] = "secret",
    collection: Annotated[
        list[str] | None, typer.Option("--collection", "-c", help="Only these collections (repeatable).")
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option(help="Groups whose restricted documents it reads.")
    ] = None,
    origin: Annotated[list[str] | None, typer.Option(help="Allowed browser origins (publishable).")] = None,
    rate_limit: Annotated[str | None, typer.Option(help="A rate such as 120/minute.")] = None,
    expires_in_days: Annotated[float | None, typer.Option(help="Expire after this many days.")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Print a new key. It is shown this once."""
    from lore.security.keys import KeySpec
    from lore.wire.security import KeyCreated

    try:
        scopes = parse_scopes(scope)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    spec = KeySpec(
        name=name,
        scopes=scopes,
        kind=kind,
        collections=frozenset(collection) if collection else None,
        groups=frozenset(group or ()),
        allowed_origins=tuple(origin) if origin else None,
        rate_limit=rate_limit,
        expires_at=datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    with open_store(data_dir, create=True) as db:
        key, secret = _ring(db).create(tenant, spec, created_by="operator")
        _audit(db, tenant, "key.created", key.id, key.summary())
    if as_json:
        print_json(KeyCreated.with_secret(key, secret).model_dump(mode="json"))
        return
    console.print(f"key {key.id} ({', '.join(sorted(key.scopes))}) of tenant {tenant}; shown once:")
    print(secret)


@app.command("list")
def list_keys(
    tenant: TenantOption = DEFAULT_TENANT, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Newest first, with each key's state: active, rotating, expired or revoked."""
    from lore.wire.security import KeyList, KeyOut

    with open_store(data_dir) as db:
        keys = [KeyOut.of(key) for key in _ring(db).list(tenant)]
    if as_json:
        print_json(KeyList(items=keys).model_dump(mode="json"))
        return
    grid = table("id", "name", "kind", "state", "scopes", "last used", flexible=("name", "scopes"))
    for key in keys:
        grid.add_row(key.id, key.name, key.kind, key.state, " ".join(key.scopes), when(key.last_used_at))
    show(grid, console)


@app.command("revoke")
def revoke(
    key_id: KeyId, tenant: TenantOption = DEFAULT_TENANT, data_dir: DataDir = None, as_json: JsonFlag = False
) -> None:
    """Stop a key at once."""
    from lore.wire.security import KeyOut

    with open_store(data_dir) as db:
        key = _ring(db).revoke(tenant, resolve(db.engine, "key", key_id, tenant))
        _audit(db, tenant, "key.revoked", key.id, key.summary())
    if as_json:
        print_json(KeyOut.of(key).model_dump(mode="json"))
    else:
        console.print(f"revoked {key.id}", highlight=False)


@app.command("rotate")
def rotate(
    key_id: KeyId,
    tenant: TenantOption = DEFAULT_TENANT,
    overlap_hours: Annotated[float, typer.Option(help="How long the old key keeps working.")] = 24.0,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Print a new key with the old one's permissions; the old one works for the overlap, as "rotating"."""
    from lore.wire.security import KeyCreated

    with open_store(data_dir) as db:
        key_id = resolve(db.engine, "key", key_id, tenant)
        key, secret = _ring(db).rotate(tenant, key_id, timedelta(hours=overlap_hours), by="operator")
        _audit(db, tenant, "key.rotated", key_id, {"replaced_by": key.id, "overlap_hours": overlap_hours})
    if as_json:
        print_json(KeyCreated.with_secret(key, secret).model_dump(mode="json"))
        return
    console.print(
        f"key {key.id} replaces {key_id}, which works for {overlap_hours:g} more hours; shown once:"
    )
    print(secret)
