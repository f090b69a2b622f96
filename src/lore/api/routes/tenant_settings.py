"""The caller's tenant's policy: which answer providers it may use, whether admins need MFA, and the quotas and
rate limits the operator set on it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import AnsweringDep, LoreDep, TenantDep
from lore.api.errors import ERROR_RESPONSES
from lore.errors import Forbidden, InvalidInput
from lore.security.policy import TenantSettings, operator_changes, patched
from lore.security.scopes import Scope

router = APIRouter(prefix="/v1/tenant", tags=["tenant"], responses=ERROR_RESPONSES)

PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": TenantSettings.model_json_schema()}},
        "description": "A JSON merge patch: the fields given replace the stored ones, `null` resets one to its "
        "default; `quotas` and `rate_limits` merge name by name, where `null` means no limit.",
    }
}


@router.get("/settings")
def get_settings(lore: LoreDep, tenant: TenantDep) -> TenantSettings:
    return TenantSettings.stored(lore.store.tenants.require(tenant).settings)


@router.patch("/settings", openapi_extra=PATCH_BODY)
def update_settings(
    body: Annotated[dict[str, Any], Body()],
    lore: LoreDep,
    principal: PrincipalDep,
    answering: AnsweringDep,
    audit: AuditDep,
) -> TenantSettings:
    """Change some of the policy; the rest stays. Takes effect from the next request (quotas and rate limits
    once each process's cached policy expires), on every replica. Quotas and rate limits are the operator's:
    changing them takes the `installation` scope."""
    stored = lore.store.tenants.require(principal.tenant_id).settings
    before = TenantSettings.stored(stored)
    after = patched(stored, body)
    _check_providers(after, sorted(answering.chain.providers))
    if (fields := operator_changes(before, after)) and not principal.allows(Scope.INSTALLATION):
        raise Forbidden(
            f"only the operator changes a tenant's {' and '.join(fields)}",
            details={"fields": fields, "required": str(Scope.INSTALLATION)},
        )
    lore.store.tenants.set_settings(principal.tenant_id, after.stored_form(stored))
    audit.record("tenant.settings_changed", target=principal.tenant_id, summary=_changes(before, after))
    return after


def _check_providers(settings: TenantSettings, known: list[str]) -> None:
    unknown = sorted(set(settings.allowed_providers or ()) - set(known))
    if unknown:
        raise InvalidInput(
            f"unknown LLM provider: {', '.join(unknown)}", details={"providers": unknown, "known": known}
        )


def _changes(before: TenantSettings, after: TenantSettings) -> dict[str, Any]:
    """Before and after of the fields that changed."""
    old, new = before.model_dump(), after.model_dump()
    changed = [name for name in new if old.get(name) != new[name]]
    return {"before": {name: old[name] for name in changed}, "after": {name: new[name] for name in changed}}
