"""The records an identity is proved against: a tenant's user, and what every request re-reads about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lore.backends.store.tenant_records import Tenant
from lore.errors import InvalidInput
from lore.security.scopes import ROLES, RoleName

MAX_EMAIL_CHARS = 254


@dataclass(frozen=True, slots=True)
class User:
    """A tenant's staff member. `password_hash` is None for single sign-on only; `mfa_secret` is the TOTP secret,
    encrypted, set from enrolment on and active once `mfa_enabled_at` is."""

    id: str
    tenant_id: str
    email: str
    role: RoleName
    created_at: datetime
    updated_at: datetime
    password_hash: str | None = field(default=None, repr=False)
    failed_logins: int = 0
    locked_until: datetime | None = None
    mfa_secret: str | None = field(default=None, repr=False)
    mfa_enabled_at: datetime | None = None
    mfa_last_step: int | None = None
    oidc_subject: str | None = None
    disabled_at: datetime | None = None

    @property
    def mfa_enabled(self) -> bool:
        return self.mfa_enabled_at is not None

    @property
    def actor(self) -> str:
        return f"user:{self.id}"


@dataclass(frozen=True, slots=True)
class Holder:
    """A user with its tenant and groups, as a token or session check loads them."""

    user: User
    tenant: Tenant
    groups: frozenset[str]


def requires_admin_mfa(tenant: Tenant) -> bool:
    """A tenant's policy may require MFA of its admins and owners (`{"require_admin_mfa": true}`)."""
    return bool(tenant.settings.get("require_admin_mfa", False))


def normal_email(email: str) -> str:
    """Emails are compared lower-cased and trimmed; anything without a local part and a domain is refused."""
    value = email.strip().lower()
    local, _, domain = value.partition("@")
    if (
        not local
        or not domain
        or "@" in domain
        or len(value) > MAX_EMAIL_CHARS
        or any(c.isspace() for c in value)
    ):
        raise InvalidInput("not an email address", details={"email": email[:MAX_EMAIL_CHARS]})
    return value


def check_role(role: str) -> RoleName:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", details={"role": role, "known": list(ROLES)})
    return role
