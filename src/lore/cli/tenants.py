"""`lore tenants create|list|disable|enable`: the teams one installation serves, managed by the operator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lore.cli.common import DataDir, JsonFlag, console, open_store, print_json
from lore.cli.tables import show, table, when
from lore.models import DEFAULT_TENANT
from lore.names import check_name
from lore.security.principal import operator

if TYPE_CHECKING:
    from lore.backends.store.database import Database

OPERATOR = operator(DEFAULT_TENANT).actor
app = typer.Typer(help="Create, list, disable and re-enable tenants.", no_args_is_help=True)


def _audit(db: Database, tenant_id: str, action: str, summary: dict[str, object] | None = None) -> None:
    from lore.security.audit import AuditLog

    AuditLog(db.audit).record(tenant_id, OPERATOR, action, target=tenant_id, summary=summary)


@app.command("create")
def create(
    tenant_id: str,
    name: Annotated[str | None, typer.Option(help="A display name.")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """A new tenant (team) of this installation."""
    from lore.wire.security import TenantOut

    with open_store(data_dir, create=True) as db:
        tenant = db.tenants.create(check_name("tenant", tenant_id), name)
        _audit(db, tenant.id, "tenant.created", {"name": name})
    if as_json:
        print_json(TenantOut.of(tenant).model_dump(mode="json"))
        return
    console.print(f"created tenant {tenant.id}")


@app.command("list")
def list_tenants(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Every tenant, enabled or disabled."""
    from lore.wire.security import TenantList, TenantOut

    with open_store(data_dir) as db:
        tenants = [TenantOut.of(tenant) for tenant in db.tenants.list()]
    if as_json:
        print_json(TenantList(items=tenants).model_dump(mode="json"))
        return
    grid = table("id", "name", "created", "state", flexible=("name",))
    for tenant in tenants:
        state = "disabled" if tenant.disabled_at else "enabled"
        grid.add_row(tenant.id, tenant.name or "", when(tenant.created_at), state)
    show(grid, console)


@app.command("disable")
def disable(tenant_id: str, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Its keys and sessions stop working at once; its data stays."""
    _set_disabled(tenant_id, True, data_dir, as_json)


@app.command("enable")
def enable(tenant_id: str, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Its keys and sessions work again."""
    _set_disabled(tenant_id, False, data_dir, as_json)


def _set_disabled(tenant_id: str, disabled: bool, data_dir: DataDir, as_json: bool) -> None:
    from lore.wire.security import TenantOut

    state = "disabled" if disabled else "enabled"
    with open_store(data_dir) as db:
        tenant = db.tenants.set_disabled(tenant_id, disabled)
        _audit(db, tenant_id, f"tenant.{state}")
    if as_json:
        print_json(TenantOut.of(tenant).model_dump(mode="json"))
    else:
        console.print(f"{state} tenant {tenant_id}", highlight=False)
