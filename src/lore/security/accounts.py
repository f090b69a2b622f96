"""`Accounts`: a tenant's users as its admins manage them (create, list, change role, disable, reset a password or MFA)
and as each user manages itself (change its password).

Admins manage editors and viewers; only owners manage admins and owners (`owner` scope), and a tenant always
keeps one enabled owner. A new password, a reset or a disabled account ends the user's logins at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lore.backends.store.tenant_records import TenantRecords
from lore.backends.store.user_records import UserRecords
from lore.config import AuthSettings
from lore.errors import Conflict, Forbidden, NotFound
from lore.models import Page, utcnow
from lore.security import passwords
from lore.security.principal import Principal
from lore.security.scopes import Scope
from lore.security.users import User, check_role, normal_email

_PRIVILEGED = frozenset({"admin", "owner"})

# Called with the user's old password hash after each change, so the first owner's password file can go.
PasswordChanged = Callable[[str | None], None]


class Accounts:
    def __init__(
        self,
        users: UserRecords,
        tenants: TenantRecords,
        settings: AuthSettings,
        on_password_changed: PasswordChanged | None = None,
    ) -> None:
        self.users = users
        self.tenants = tenants
        self.settings = settings
        self._on_password_changed = on_password_changed

    # --- reading -----------------------------------------------------------------------------------------

    def get(self, tenant_id: str, user_id: str) -> User:
        user = self.users.get(tenant_id, user_id)
        if user is None:
            raise NotFound("no such user", details={"user_id": user_id})
        return user

    def by_email(self, tenant_id: str, email: str) -> User:
        user = self.users.by_email(tenant_id, normal_email(email))
        if user is None:
            raise NotFound("no user with this email", details={"tenant": tenant_id, "email": email})
        return user

    def list_users(self, tenant_id: str, limit: int, cursor: str | None = None) -> Page[User]:
        return self.users.list_users(tenant_id, limit, cursor)

    def me(self, principal: Principal) -> User:
        if principal.kind != "user":
            raise Forbidden(
                "only a user has an account: this is an API key", details={"kind": principal.kind}
            )
        return self.get(principal.tenant_id, principal.id)

    # --- an admin's changes ------------------------------------------------------------------------------

    def create(self, actor: Principal, email: str, role: str, password: str | None = None) -> User:
        """A new user; with no password it can only sign in through single sign-on (or after a reset)."""
        role = check_role(role)
        _check_may_manage(actor, role)
        email = normal_email(email)
        self.tenants.require(actor.tenant_id)
        hashed = self._new_hash(password, email) if password is not None else None
        return self.users.create(actor.tenant_id, email, role, hashed)

    def update(
        self, actor: Principal, user_id: str, *, role: str | None = None, disabled: bool | None = None
    ) -> User:
        """Change a user's role or disable (or enable) it; disabling ends its logins."""
        user = self.get(actor.tenant_id, user_id)
        new_role = check_role(role) if role is not None else user.role
        _check_may_manage(actor, user.role, new_role)
        if user.role == "owner" and (new_role != "owner" or disabled) and user.disabled_at is None:
            self._keep_an_owner(user.tenant_id)
        values: dict[str, Any] = {"role": new_role}
        if disabled is not None:
            values["disabled_at"] = (user.disabled_at or utcnow()) if disabled else None
        changed = self._changed(user, values)
        if disabled:
            self.users.revoke_user(user.id)
        return changed

    def reset_password(self, actor: Principal, user_id: str, password: str) -> User:
        """Set a user's password for it (it should change it next): unlocks it and ends its logins."""
        user = self.get(actor.tenant_id, user_id)
        _check_may_manage(actor, user.role)
        return self._set_password(user, password)

    def reset_mfa(self, actor: Principal, user_id: str) -> User:
        """Turn a user's MFA off (a lost phone): it logs in with its password and may enrol again."""
        _check_may_manage(actor, self.get(actor.tenant_id, user_id).role)
        user = self.users.reset_mfa(actor.tenant_id, user_id)
        if user is None:
            raise NotFound("no such user", details={"user_id": user_id})
        return user

    # --- a user's own changes ----------------------------------------------------------------------------

    def change_password(self, principal: Principal, current: str, new: str) -> User:
        """The user's new password, given its current one; every login of the user ends, this one too."""
        user = self.me(principal)
        if not passwords.verify_password(user.password_hash, current):
            raise Forbidden("the current password is wrong", details={"reason": "wrong_password"})
        return self._set_password(user, new)

    # --- shared steps ------------------------------------------------------------------------------------

    def _set_password(self, user: User, password: str) -> User:
        hashed = self._new_hash(password, user.email)
        changed = self._changed(user, {"password_hash": hashed, "failed_logins": 0, "locked_until": None})
        self.users.revoke_user(user.id)
        if self._on_password_changed is not None:
            self._on_password_changed(user.password_hash)
        return changed

    def _new_hash(self, password: str, email: str) -> str:
        passwords.check_new_password(password, self.settings.password_min_length, email)
        return passwords.hash_password(password)

    def _changed(self, user: User, values: dict[str, Any]) -> User:
        changed = self.users.update(user.tenant_id, user.id, values)
        if changed is None:
            raise NotFound("no such user", details={"user_id": user.id})
        return changed

    def _keep_an_owner(self, tenant_id: str) -> None:
        if self.users.enabled_owners(tenant_id) <= 1:
            raise Conflict("a tenant keeps at least one enabled owner", details={"tenant": tenant_id})


def _check_may_manage(actor: Principal, *roles: str) -> None:
    """Admins manage editors and viewers; admins and owners are an owner's to manage."""
    if not actor.allows(Scope.ADMIN):
        raise Forbidden("managing users needs the admin scope", details={"needs": Scope.ADMIN.value})
    if _PRIVILEGED.intersection(roles) and not actor.allows(Scope.OWNER):
        raise Forbidden("only an owner manages admins and owners", details={"needs": Scope.OWNER.value})
