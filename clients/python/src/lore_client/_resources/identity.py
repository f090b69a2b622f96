"""Who calls: logins and sessions, users and groups, API keys, tenants, and end users' data."""

from __future__ import annotations

from typing import Literal

from lore_client._pages import Page
from lore_client._routes import OMIT, Call, M, Namespace, Omitted, changes, endpoint, given, paged
from lore_client.types import (
    Group,
    JSONObject,
    Key,
    KeyCreated,
    Me,
    MfaChallenge,
    MfaEnrolment,
    RecoveryCodes,
    Session,
    Strings,
    Tenant,
    Tokens,
    User,
)

Role = Literal["owner", "admin", "editor", "viewer"]


def _login(email: str, password: str, tenant: str | None) -> dict[str, object]:
    return {"email": email, "password": password, **given(tenant=tenant)}


class Auth(Namespace[M]):
    """The raw login routes; `Lore.login` runs them (and keeps the tokens) for you."""

    name = "auth"

    @endpoint("POST", "/v1/auth/login")
    def login(self, email: str, password: str, *, tenant: str | None = None) -> Call[Tokens | MfaChallenge]:
        """A token pair, or (`status == "mfa_required"`) a challenge to finish with `login_mfa`."""
        return Call(json=_login(email, password, tenant))

    @endpoint("POST", "/v1/auth/login/mfa")
    def login_mfa(self, mfa_token: str, code: str) -> Call[Tokens]:
        return Call(json={"mfa_token": mfa_token, "code": code})

    @endpoint("POST", "/v1/auth/refresh")
    def refresh(self, refresh_token: str) -> Call[Tokens]:
        """A new pair; the refresh token sent is used up."""
        return Call(json={"refresh_token": refresh_token})

    @endpoint("POST", "/v1/auth/logout")
    def logout(self, refresh_token: str) -> Call[None]:
        return Call(json={"refresh_token": refresh_token}, expect="empty")

    @endpoint("POST", "/v1/auth/session")
    def open_session(
        self, email: str, password: str, *, tenant: str | None = None
    ) -> Call[Session | MfaChallenge]:
        """A web session (its cookies kept by this client's HTTP client)."""
        return Call(json=_login(email, password, tenant))

    @endpoint("POST", "/v1/auth/session/mfa")
    def open_session_mfa(self, mfa_token: str, code: str) -> Call[Session]:
        return Call(json={"mfa_token": mfa_token, "code": code})

    @endpoint("DELETE", "/v1/auth/session")
    def close_session(self) -> Call[None]:
        return Call(expect="empty")

    @endpoint("GET", "/v1/auth/oidc/{tenant}/start")
    def oidc_start(self, tenant: str, *, return_to: str | None = None) -> Call[str]:
        """The URL of the tenant's OpenID Connect provider to send a browser to."""
        return Call(path={"tenant": tenant}, query={"return_to": return_to}, expect="location")

    @endpoint("GET", "/v1/auth/oidc/{tenant}/callback")
    def oidc_callback(
        self, tenant: str, *, code: str | None = None, state: str | None = None, error: str | None = None
    ) -> Call[Session]:
        return Call(path={"tenant": tenant}, query={"code": code, "state": state, "error": error})

    @endpoint("POST", "/v1/auth/mfa/enrol")
    def mfa_enrol(self) -> Call[MfaEnrolment]:
        """Start the caller's MFA enrolment: a TOTP secret to put in an authenticator app."""
        return Call()

    @endpoint("POST", "/v1/auth/mfa/verify")
    def mfa_verify(self, code: str) -> Call[RecoveryCodes]:
        """Finish the enrolment with a first code: MFA is on from now on."""
        return Call(json={"code": code})

    @endpoint("POST", "/v1/auth/mfa/recovery-codes")
    def mfa_recovery_codes(self, code: str) -> Call[RecoveryCodes]:
        """New recovery codes (the old ones stop working)."""
        return Call(json={"code": code})


class Users(Namespace[M]):
    name = "users"

    @paged("/v1/users")
    def list(self, *, limit: int | None = None) -> Call[Page[User]]:
        return Call(query={"limit": limit})

    @endpoint("POST", "/v1/users")
    def create(self, email: str, *, role: Role | None = None, password: str | None = None) -> Call[User]:
        return Call(json={"email": email, **given(role=role, password=password)})

    @endpoint("GET", "/v1/users/{user_id}")
    def get(self, user_id: str) -> Call[User]:
        return Call(path={"user_id": user_id})

    @endpoint("PATCH", "/v1/users/{user_id}")
    def update(
        self, user_id: str, *, role: Role | Omitted = OMIT, disabled: bool | Omitted = OMIT
    ) -> Call[User]:
        return Call(path={"user_id": user_id}, json=changes(role=role, disabled=disabled))

    @endpoint("POST", "/v1/users/{user_id}/password")
    def reset_password(self, user_id: str, password: str) -> Call[User]:
        return Call(path={"user_id": user_id}, json={"password": password})

    @endpoint("DELETE", "/v1/users/{user_id}/mfa")
    def reset_mfa(self, user_id: str) -> Call[User]:
        return Call(path={"user_id": user_id})

    @endpoint("GET", "/v1/me")
    def me(self) -> Call[Me]:
        return Call()

    @endpoint("POST", "/v1/me/password")
    def change_password(self, current_password: str, new_password: str) -> Call[None]:
        passwords = {"current_password": current_password, "new_password": new_password}
        return Call(json=passwords, expect="empty")


class Groups(Namespace[M]):
    name = "groups"

    @endpoint("GET", "/v1/groups")
    def list(self) -> Call[list[Group]]:
        return Call(unwrap="items")

    @endpoint("POST", "/v1/groups")
    def create(self, name: str) -> Call[Group]:
        return Call(json={"name": name})

    @endpoint("GET", "/v1/groups/{name}")
    def get(self, name: str) -> Call[Group]:
        return Call(path={"name": name})

    @endpoint("DELETE", "/v1/groups/{name}")
    def delete(self, name: str) -> Call[None]:
        return Call(path={"name": name}, expect="empty")

    @endpoint("PUT", "/v1/groups/{name}/members/{user_id}")
    def add_member(self, name: str, user_id: str) -> Call[Group]:
        return Call(path={"name": name, "user_id": user_id})

    @endpoint("DELETE", "/v1/groups/{name}/members/{user_id}")
    def remove_member(self, name: str, user_id: str) -> Call[Group]:
        return Call(path={"name": name, "user_id": user_id})


class Keys(Namespace[M]):
    name = "keys"

    @endpoint("GET", "/v1/keys")
    def list(self) -> Call[list[Key]]:
        return Call(unwrap="items")

    @endpoint("POST", "/v1/keys")
    def create(
        self,
        name: str,
        scopes: Strings,
        *,
        kind: Literal["secret", "publishable"] | None = None,
        collections: Strings | None = None,
        groups: Strings | None = None,
        allowed_origins: Strings | None = None,
        rate_limit: str | None = None,
        expires_at: str | None = None,
    ) -> Call[KeyCreated]:
        """A new key with `scopes` (search, ask, documents:read, documents:write, events, classify, admin,
        ...); its secret, `key`, is in this answer only. `rate_limit` is a rate such as `120/minute`."""
        options = given(
            kind=kind,
            collections=collections,
            groups=groups,
            allowed_origins=allowed_origins,
            rate_limit=rate_limit,
            expires_at=expires_at,
        )
        return Call(json={"name": name, "scopes": scopes, **options})

    @endpoint("GET", "/v1/keys/{key_id}")
    def get(self, key_id: str) -> Call[Key]:
        return Call(path={"key_id": key_id})

    @endpoint("DELETE", "/v1/keys/{key_id}")
    def revoke(self, key_id: str) -> Call[Key]:
        return Call(path={"key_id": key_id})

    @endpoint("POST", "/v1/keys/{key_id}/rotate")
    def rotate(self, key_id: str, *, overlap_hours: float | None = None) -> Call[KeyCreated]:
        """A successor key; the old one keeps working for `overlap_hours`."""
        return Call(path={"key_id": key_id}, json=given(overlap_hours=overlap_hours))


class Tenants(Namespace[M]):
    name = "tenants"

    @endpoint("GET", "/v1/tenants")
    def list(self) -> Call[list[Tenant]]:
        return Call(unwrap="items")

    @endpoint("POST", "/v1/tenants")
    def create(self, tenant_id: str, *, name: str | None = None) -> Call[Tenant]:
        return Call(json={"id": tenant_id, **given(name=name)})

    @endpoint("GET", "/v1/tenants/{tenant_id}")
    def get(self, tenant_id: str) -> Call[Tenant]:
        return Call(path={"tenant_id": tenant_id})

    @endpoint("PATCH", "/v1/tenants/{tenant_id}")
    def update(self, tenant_id: str, *, disabled: bool) -> Call[Tenant]:
        return Call(path={"tenant_id": tenant_id}, json={"disabled": disabled})


class EndUsers(Namespace[M]):
    """An end user's data (a publishable key's visitor), for access and erasure requests."""

    name = "end_users"

    @endpoint("GET", "/v1/end-users/{end_user}/export")
    def export(self, end_user: str) -> Call[JSONObject]:
        return Call(path={"end_user": end_user})

    @endpoint("DELETE", "/v1/end-users/{end_user}")
    def erase(self, end_user: str) -> Call[JSONObject]:
        return Call(path={"end_user": end_user})
