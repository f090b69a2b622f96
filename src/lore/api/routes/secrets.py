"""The caller's tenant's secrets (its own LLM provider keys, its single sign-on client secret): set, list in
masked form, remove. A secret's value goes in once and never comes out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from lore.api.audit import AuditDep
from lore.api.deps import SecretsDep, TenantDep
from lore.api.errors import ERROR_RESPONSES
from lore.security.secrets import SecretName
from lore.wire.secrets import SecretIn, SecretList, SecretOut

router = APIRouter(prefix="/v1/secrets", tags=["secrets"], responses=ERROR_RESPONSES)

Name = Annotated[SecretName, Path(description="Which secret.")]


@router.get("")
def list_secrets(secrets: SecretsDep, tenant: TenantDep) -> SecretList:
    """Every secret set, masked, with when it was last used and whether its provider refuses it."""
    return SecretList(items=[SecretOut.model_validate(record) for record in secrets.list(tenant)])


@router.put("/{name}")
def set_secret(
    name: Name, body: SecretIn, secrets: SecretsDep, tenant: TenantDep, audit: AuditDep
) -> SecretOut:
    """Set or replace a secret; a tenant's provider key then answers its questions instead of the server's."""
    record = secrets.set(tenant, name, body.value.get_secret_value())
    audit.record("secret.set", target=name, summary={"masked": record.masked})
    return SecretOut.model_validate(record)


@router.delete("/{name}", status_code=204)
def delete_secret(name: Name, secrets: SecretsDep, tenant: TenantDep, audit: AuditDep) -> Response:
    secrets.delete(tenant, name)
    audit.record("secret.deleted", target=name)
    return Response(status_code=204)
