"""`lore tenants create|list|disable|enable`: the teams one installation serves, managed by the operator."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lore.cli.common import DataDir, JsonFlag, console, open_store, print_json
from lore.models import DEFAULT_TENANT
from lore.names import check_name
from lore.security.audit import AuditLog
from lore.security.principal import operator
from lore.wire.security import TenantList, TenantOut

OPERATOR = operator(DEFAULT_TENANT).actor
app = typer.Typer(help="Create, list, disable and re-enable tenants.", no_args_is_help=True)


@app.command("create")
def create(
    tenant_id: str,
    name: Annotated[str | None, typer.Option(help="A display name.")] = None,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    with open_store(data_dir) as db:
        tenant = db.tenants.create(check_name("tenant", tenant_id), name)
        AuditLog(db.audit).record(
            tenant.id, OPERATOR, "tenant.created", target=tenant.id, summary={"name": name}
        )
    if as_json:
        print_json(TenantOut.of(tenant).model_dump(mode="json"))
        return
    console.print(f"created tenant {tenant.id}")


@app.command("list")
def list_tenants(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    with open_store(data_dir) as db:
        tenants = [TenantOut.of(tenant) for tenant in db.tenants.list()]
    if as_json:
        print_json(TenantList(items=tenants).model_dump(mode="json"))
        return
    table = Table("id", "name", "created", "state")
    for tenant in tenants:
        state = "disabled" if tenant.disabled_at else "enabled"
        table.add_row(tenant.id, tenant.name or "", tenant.created_at.isoformat(timespec="seconds"), state)
    console.print(table)


@app.command("disable")
def disable(tenant_id: str, data_dir: DataDir = None) -> None:
    """Its keys and sessions stop working at once; its data stays."""
    with open_store(data_dir) as db:
        db.tenants.set_disabled(tenant_id, True)
        AuditLog(db.audit).record(tenant_id, OPERATOR, "tenant.disabled", target=tenant_id)
    console.print(f"disabled tenant {tenant_id}")


@app.command("enable")
def enable(tenant_id: str, data_dir: DataDir = None) -> None:
    with open_store(data_dir) as db:
        db.tenants.set_disabled(tenant_id, False)
        AuditLog(db.audit).record(tenant_id, OPERATOR, "tenant.enabled", target=tenant_id)
    console.print(f"enabled tenant {tenant_id}")
