"""`SingleSignOn`: a tenant's users sign on through its OpenID Connect provider.

`start` sends the browser to the provider and keeps the login's state, nonce and PKCE verifier in a short-lived
signed cookie (so any replica can finish it, and only the browser that started it can); `finish` checks the
state against it, trades the code for a verified identity, and finds the user by its provider subject or by its
verified email (created on first sign-on unless the tenant says not).

A tenant's provider is in its policy (`tenants.settings["oidc"]`: `issuer`, `client_id`, `redirect_uri`,
`default_role`, `create_users`) with its client secret kept encrypted as the tenant secret `oidc_client_secret`;
the default tenant may instead take it from the `LORE_OIDC_*` settings. Sign-ons trust the provider's own
authentication: require MFA there.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lore.backends.store.tenant_records import TenantRecords
from lore.backends.store.user_records import UserRecords
from lore.config import OidcSettings
from lore.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from lore.models import DEFAULT_TENANT
from lore.security.oidc import OidcClient, OidcConfig, VerifiedIdentity
from lore.security.tokens import TokenSigner
from lore.security.users import User, check_role, normal_email

STATE_COOKIE = "lore_oidc"
STATE_SECONDS = 600
MAX_RETURN_TO = 2000

TenantSecret = Callable[[str, str], "str | None"]  # (tenant, name) -> plaintext, or None


@dataclass(frozen=True, slots=True)
class SignOnStart:
    url: str  # where to send the browser
    state_cookie: str  # to set as STATE_COOKIE until the callback


@dataclass(frozen=True, slots=True)
class SignedOn:
    user: User
    return_to: str | None


class SingleSignOn:
    def __init__(
        self,
        users: UserRecords,
        tenants: TenantRecords,
        signer: TokenSigner,
        client: OidcClient,
        settings: OidcSettings,
        tenant_secret: TenantSecret,
    ) -> None:
        self.users = users
        self.tenants = tenants
        self.signer = signer
        self.client = client
        self.settings = settings
        self._tenant_secret = tenant_secret

    def config(self, tenant_id: str) -> OidcConfig:
        tenant = self.tenants.get(tenant_id)
        policy = tenant.settings.get("oidc") if tenant is not None else None
        if isinstance(policy, dict):
            return _from_policy(policy, self._tenant_secret(tenant_id, "oidc_client_secret"))
        if tenant_id == DEFAULT_TENANT and self.settings.oidc_issuer and self.settings.oidc_client_id:
            secret = self.settings.oidc_client_secret
            return OidcConfig(
                issuer=self.settings.oidc_issuer,
                client_id=self.settings.oidc_client_id,
                client_secret=secret.get_secret_value() if secret is not None else None,
                redirect_uri=self.settings.oidc_redirect_uri,
            )
        raise NotFound("single sign-on is not configured for this tenant", details={"tenant": tenant_id})

    def start(self, tenant_id: str, callback_url: str, return_to: str | None = None) -> SignOnStart:
        """`callback_url`: this server's callback as the request reached it, unless the config names one."""
        if return_to is not None:
            _check_return_to(return_to)
        config = self.config(tenant_id)
        redirect_uri = config.redirect_uri or callback_url
        request = self.client.authorization_request(config, redirect_uri)
        flow = {
            "state": request.state,
            "nonce": request.nonce,
            "verifier": request.verifier,
            "redirect_uri": redirect_uri,
            "return_to": return_to,
        }
        return SignOnStart(request.url, self.signer.sign("oidc", tenant_id, STATE_SECONDS, flow))

    def finish(self, tenant_id: str, code: str, state: str, state_cookie: str | None) -> SignedOn:
        if state_cookie is None:
            raise _failed("state_missing", "this browser did not start the sign-on (no state cookie)")
        flow = self.signer.verify(state_cookie, "oidc")
        if flow["sub"] != tenant_id or not hmac.compare_digest(str(flow.get("state")), state):
            raise _failed("state_mismatch", "the state does not match the one this browser started with")
        config = self.config(tenant_id)
        identity = self.client.identity(
            config, str(flow["redirect_uri"]), code, str(flow["nonce"]), str(flow["verifier"])
        )
        user = self._user_for(tenant_id, config, identity)
        return SignedOn(user, flow.get("return_to"))

    def _user_for(self, tenant_id: str, config: OidcConfig, identity: VerifiedIdentity) -> User:
        """The user the provider vouches for: by its subject, else by verified email (then linked to it)."""
        user = self.users.by_oidc_subject(tenant_id, identity.subject)
        if user is None:
            if not identity.email or not identity.email_verified:
                raise Forbidden(
                    "the identity provider has not verified this user's email",
                    details={"reason": "email_not_verified"},
                )
            user = self._by_email(tenant_id, config, normal_email(identity.email), identity.subject)
        tenant = self.tenants.get(tenant_id)
        if user.disabled_at is not None or tenant is None or not tenant.enabled:
            raise Forbidden("this account is disabled", details={"reason": "disabled"})
        return user

    def _by_email(self, tenant_id: str, config: OidcConfig, email: str, subject: str) -> User:
        user = self.users.by_email(tenant_id, email)
        if user is None:
            if not config.create_users:
                raise Forbidden("no user of this tenant has this email", details={"reason": "no_user"})
            return self.users.create(tenant_id, email, config.default_role, None, oidc_subject=subject)
        if user.oidc_subject is not None and user.oidc_subject != subject:
            raise Forbidden("this user signs on as another identity", details={"reason": "other_subject"})
        linked = self.users.update(tenant_id, user.id, {"oidc_subject": subject})
        assert linked is not None
        return linked


def _from_policy(policy: dict[str, Any], client_secret: str | None) -> OidcConfig:
    try:
        return OidcConfig(
            issuer=str(policy["issuer"]),
            client_id=str(policy["client_id"]),
            client_secret=client_secret,
            redirect_uri=policy.get("redirect_uri"),
            default_role=check_role(str(policy.get("default_role", "viewer"))),
            create_users=bool(policy.get("create_users", True)),
        )
    except KeyError as missing:
        raise InvalidInput(
            "the tenant's single sign-on policy is incomplete", details={"missing": str(missing)}
        ) from None


def _check_return_to(return_to: str) -> None:
    """Only a path on this server: anything else would make the callback an open redirect."""
    if not return_to.startswith("/") or return_to.startswith(("//", "/\\")) or len(return_to) > MAX_RETURN_TO:
        raise InvalidInput("return_to must be a path on this server", details={"field": "return_to"})


def _failed(reason: str, message: str) -> Unauthenticated:
    return Unauthenticated(f"single sign-on failed: {message}", details={"reason": reason})
