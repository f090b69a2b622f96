"""Tenants of the installation (the `installation` scope): create, list, show, disable and re-enable.
Disabling one stops its keys and sessions at once; its data stays."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from lore.api.audit import AuditDep
from lore.api.deps import LoreDep
from lore.api.errors import ERROR_RESPONSES
from lore.wire.security import TenantIn, TenantList, TenantOut, TenantPatch

router = APIRouter(prefix="/v1/tenants", tags=["tenants"], responses=ERROR_RESPONSES)

TenantId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("", status_code=201)
def create_tenant(body: TenantIn, lore: LoreDep, audit: AuditDep) -> TenantOut:
    """Its own log records its creation, as everything done to it."""
    tenant = lore.store.tenants.create(body.id, body.name)
    audit.in_tenant(tenant.id).record("tenant.created", target=tenant.id, summary={"name": tenant.name})
    return TenantOut.of(tenant)


@router.get("")
def list_tenants(lore: LoreDep) -> TenantList:
    return TenantList(items=[TenantOut.of(tenant) for tenant in lore.store.tenants.list()])


@router.get("/{tenant_id}")
def get_tenant(tenant_id: TenantId, lore: LoreDep) -> TenantOut:
    return TenantOut.of(lore.store.tenants.require(tenant_id))


@router.patch("/{tenant_id}")
def update_tenant(tenant_id: TenantId, body: TenantPatch, lore: LoreDep, audit: AuditDep) -> TenantOut:
    tenant = lore.store.tenants.set_disabled(tenant_id, body.disabled)
    action = "tenant.disabled" if body.disabled else "tenant.enabled"
    audit.in_tenant(tenant.id).record(action, target=tenant.id)
    return TenantOut.of(tenant)
