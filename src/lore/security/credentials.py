"""`UserCredentials`: the per-request check of a user's access token or session cookie, giving its `Principal`.

Each check re-reads the user, its tenant and its groups (one statement: an indexed join by primary key), so a
disabled user or tenant, a revoked login, a changed role or group, and a tenant's new MFA rule apply to the very
next request, not when the token expires.
"""

from __future__ import annotations

from lore.backends.store.tenant_records import Tenant
from lore.backends.store.user_records import UserRecords
from lore.errors import Unauthenticated
from lore.security.principal import Principal
from lore.security.scopes import ROLE_SCOPES
from lore.security.sessions import check_csrf
from lore.security.tokens import TokenSigner, looks_signed, opaque_hash
from lore.security.users import Holder, User, requires_admin_mfa


def must_enrol_mfa(user: User, tenant: Tenant) -> bool:
    """Admins and owners of a tenant that requires MFA hold only a viewer's scopes until they enrol."""
    return requires_admin_mfa(tenant) and user.role in ("admin", "owner") and not user.mfa_enabled


def principal_of(holder: Holder) -> Principal:
    user, tenant = holder.user, holder.tenant
    if user.disabled_at is not None:
        raise Unauthenticated("this user is disabled", details={"reason": "disabled"})
    if not tenant.enabled:
        raise Unauthenticated("this tenant is disabled", details={"reason": "tenant_disabled"})
    role = "viewer" if must_enrol_mfa(user, tenant) else user.role
    return Principal(
        tenant_id=user.tenant_id,
        kind="user",
        id=user.id,
        scopes=ROLE_SCOPES[role],
        role=user.role,
        groups=holder.groups,
    )


class UserCredentials:
    def __init__(self, users: UserRecords, signer: TokenSigner, signing_secret: str) -> None:
        self.users = users
        self.signer = signer
        self._secret = signing_secret

    def access_token(self, token: str) -> Principal | None:
        """The principal of a user's access token; None for a token of another kind (not a JWT)."""
        if not looks_signed(token):
            return None
        claims = self.signer.access_claims(token)
        holder = self.users.access(claims.user_id, claims.session_id)
        if holder is None or holder.user.tenant_id != claims.tenant_id:
            raise Unauthenticated("this login has ended: log in again", details={"reason": "revoked"})
        return principal_of(holder)

    def session(self, token: str, method: str, csrf_header: str | None) -> Principal:
        """The principal of a session cookie; a state-changing `method` needs the session's CSRF token."""
        holder = self.users.session(opaque_hash(token))
        if holder is None:
            raise Unauthenticated("this session has ended: log in again", details={"reason": "revoked"})
        check_csrf(self._secret, token, method, csrf_header)
        return principal_of(holder)
