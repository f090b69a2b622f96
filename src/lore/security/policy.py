"""A tenant's policy: the known fields of `tenants.settings` as one model, how a change is applied to them, and
the rule that limits which answer providers a tenant's requests may name.

    >>> policy = TenantSettings.stored({"allowed_providers": ["extractive"]})
    >>> provider_order(["openai"], policy.allowed(["extractive"]), ["extractive"])
    Traceback (most recent call last):
    ProviderNotAllowed: provider 'openai' is not allowed for this tenant ...

Without `allowed_providers`, a tenant may use exactly the server's configured chain (`LORE_LLM_PROVIDERS`).
Its owner may narrow that or name other providers, but one outside the configured chain answers only with the
tenant's own key for it: neither a caller nor a tenant's owner can make the server spend the operator's keys on
a provider the operator did not configure. Quotas and rate limits are the operator's limits on a tenant
(`lore.security.quotas` applies them): changing them takes the `installation` scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from lore.errors import Forbidden, InvalidInput
from lore.security.quotas import QuotaName, RateName, check_policy
from lore.security.scopes import RoleName


class ProviderNotAllowed(Forbidden):
    code = "provider_not_allowed"


Count = Annotated[int, Field(ge=0)]
ProviderName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
OPERATOR_FIELDS = ("quotas", "rate_limits")  # the installation's limits on a tenant: not the tenant's to lift


class OidcPolicy(BaseModel):
    """Where the tenant's users sign on (OpenID Connect, authorization code with PKCE)."""

    model_config = ConfigDict(extra="forbid")

    issuer: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^https?://")]
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    redirect_uri: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://")] | None = Field(
        None, description="Callback registered at the provider; default: this server's callback URL."
    )
    default_role: RoleName = Field("viewer", description="The role of a user created at their first sign-on.")
    create_users: bool = Field(True, description="Create a user at the first sign-on of an unknown email.")


class TenantSettings(BaseModel):
    """The policy of a tenant: what its owner sets, and the limits the operator sets on it."""

    model_config = ConfigDict(extra="forbid")

    allowed_providers: list[ProviderName] | None = Field(
        None,
        min_length=1,
        description="Answer providers the tenant's requests may use and name; null: the server's configured "
        "chain. One outside that chain answers only with the tenant's own key for it.",
    )
    require_admin_mfa: bool = Field(
        False, description="Admins and owners act as viewers until they have turned MFA on."
    )
    oidc: OidcPolicy | None = Field(
        None,
        description="The tenant's single sign-on provider; its client secret is the tenant secret "
        "`oidc_client_secret` (`PUT /v1/secrets/oidc_client_secret`).",
    )
    quotas: dict[QuotaName, Count | None] = Field(
        default_factory=dict,
        description="Quotas by name (documents, stored_bytes, tokens_per_day, requests_per_day): a name left out "
        "takes the server's default (`LORE_QUOTA_*`), null means none. Changed by the operator only.",
    )
    rate_limits: dict[RateName, str | None] = Field(
        default_factory=dict,
        description="Rate limits by name (tenant, user, key, address), as `limits` expressions such as "
        "`600/minute`: left out, the server's default (`LORE_RATE_LIMIT_*`); null, none (not for address). "
        "Changed by the operator only.",
    )

    @classmethod
    def stored(cls, raw: Mapping[str, Any] | None) -> TenantSettings:
        """The policy from a tenant's stored settings; keys this version does not know are ignored."""
        return cls.model_validate(_known(raw or {}))

    def allowed(self, configured: Sequence[str]) -> list[str]:
        """The providers this tenant's policy names, given the server's configured chain."""
        return list(self.allowed_providers) if self.allowed_providers is not None else list(configured)

    def stored_form(self, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        """What to store: the stored settings' other keys kept, each known field left out while it holds its
        default (a quota left out is the server's default, not "none")."""
        others = {
            name: value for name, value in (raw or {}).items() if name not in TenantSettings.model_fields
        }
        return {**others, **self.model_dump(exclude_defaults=True)}


def _known(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in raw.items() if name in TenantSettings.model_fields}


def merged(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch applied at the top level (a field given replaces the stored one, `null` resets it to
    its default); `quotas` and `rate_limits` merge name by name, where `null` means no limit."""
    result = _known(current)
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        elif name in OPERATOR_FIELDS and isinstance(value, Mapping) and isinstance(result.get(name), Mapping):
            result[name] = {**result[name], **value}
        else:
            result[name] = value
    return result


def patched(current: Mapping[str, Any], patch: Mapping[str, Any]) -> TenantSettings:
    """The stored settings with `patch` applied, validated; an invalid result is `InvalidInput`."""
    try:
        settings = TenantSettings.model_validate(merged(current, patch))
    except ValidationError as error:
        fields = [{"loc": list(e["loc"]), "message": e["msg"]} for e in error.errors()]
        raise InvalidInput("invalid tenant settings", details={"fields": fields}) from None
    check_policy(settings.model_dump())  # rate limits parse as `limits` expressions
    return settings


def operator_changes(before: TenantSettings, after: TenantSettings) -> list[str]:
    """The fields only the operator may change that differ."""
    return [name for name in OPERATOR_FIELDS if getattr(before, name) != getattr(after, name)]


def provider_order(
    requested: Sequence[str] | None, allowed: Sequence[str], configured: Sequence[str]
) -> list[str]:
    """The providers to try for one request: those it names, if the tenant allows each of them; otherwise the
    configured chain narrowed to what the tenant allows (or, when none of it is, the allowed ones in order)."""
    if not requested:
        order = [name for name in configured if name in allowed] or list(allowed)
        if not order:
            raise ProviderNotAllowed(
                "no provider this tenant allows can answer: one outside the server's chain needs the "
                "tenant's own key",
                details={"providers": [], "allowed": []},
            )
        return order
    refused = [name for name in requested if name not in allowed]
    if refused:
        raise ProviderNotAllowed(
            f"provider {', '.join(map(repr, refused))} is not allowed for this tenant",
            details={"providers": refused, "allowed": list(allowed)},
        )
    return list(requested)
