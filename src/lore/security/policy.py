"""A tenant's policy: the known fields of `tenants.settings` as one model, how a change is applied to them, and
the rule that limits which answer providers a tenant's requests may name.

    >>> policy = TenantSettings.stored({"allowed_providers": ["extractive"]})
    >>> provider_order(["openai"], policy.allowed(["extractive"]), ["extractive"])
    Traceback (most recent call last):
    ProviderNotAllowed: provider 'openai' is not allowed for this tenant ...

Without `allowed_providers`, a tenant may use exactly the server's configured chain (`LORE_LLM_PROVIDERS`):
a caller can no longer name a provider the operator did not choose, and so spend the operator's keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lore.errors import Forbidden, InvalidInput


class ProviderNotAllowed(Forbidden):
    code = "provider_not_allowed"


class Quotas(BaseModel):
    """Per-tenant limits; null: unlimited."""

    model_config = ConfigDict(extra="forbid")

    documents: int | None = Field(None, ge=0, description="Documents the tenant may store.")
    stored_bytes: int | None = Field(None, ge=0, description="Bytes of extracted text the tenant may store.")
    llm_tokens_per_day: int | None = Field(
        None, ge=0, description="LLM tokens (prompt and answer) the tenant's answers may use per UTC day."
    )
    requests_per_day: int | None = Field(
        None, ge=0, description="API requests the tenant may make per UTC day."
    )


class TenantSettings(BaseModel):
    """The policy an owner sets for their tenant."""

    model_config = ConfigDict(extra="forbid")

    allowed_providers: list[str] | None = Field(
        None,
        min_length=1,
        description="Answer providers the tenant's requests may use (and name per request); null: the server's "
        "configured chain.",
    )
    require_mfa: bool = Field(False, description="Admins and owners must sign in with a second factor.")
    quotas: Quotas = Field(default_factory=Quotas)

    @classmethod
    def stored(cls, raw: Mapping[str, Any] | None) -> TenantSettings:
        """The policy from a tenant's stored settings; keys this version does not know are ignored."""
        return cls.model_validate(
            {name: value for name, value in (raw or {}).items() if name in cls.model_fields}
        )

    def allowed(self, configured: Sequence[str]) -> list[str]:
        """The providers this tenant may use, given the server's configured chain."""
        return list(self.allowed_providers) if self.allowed_providers is not None else list(configured)


def merge_patch(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386: objects merge recursively, `null` removes a field (back to its default), anything else
    replaces it."""
    merged = dict(current)
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(name), Mapping):
            merged[name] = merge_patch(merged[name], value)
        else:
            merged[name] = value
    return merged


def patched(current: Mapping[str, Any], patch: Mapping[str, Any]) -> TenantSettings:
    """The stored settings with `patch` applied, validated; an invalid result is `InvalidInput`."""
    try:
        return TenantSettings.model_validate(merge_patch(TenantSettings.stored(current).model_dump(), patch))
    except ValidationError as error:
        fields = [{"loc": list(e["loc"]), "message": e["msg"]} for e in error.errors()]
        raise InvalidInput("invalid tenant settings", details={"fields": fields}) from None


def provider_order(
    requested: Sequence[str] | None, allowed: Sequence[str], configured: Sequence[str]
) -> list[str]:
    """The providers to try for one request: those it names, if the tenant allows each of them; otherwise the
    configured chain narrowed to what the tenant allows (or, when none of it is, the allowed ones in order)."""
    if not requested:
        return [name for name in configured if name in allowed] or list(allowed)
    refused = [name for name in requested if name not in allowed]
    if refused:
        raise ProviderNotAllowed(
            f"provider {', '.join(map(repr, refused))} is not allowed for this tenant",
            details={"providers": refused, "allowed": list(allowed)},
        )
    return list(requested)
