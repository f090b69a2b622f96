"""`Logins`: a password (and, with MFA, a code) becomes an access and refresh token pair or a web session;
refresh tokens rotate; logout ends a login.

A login is a *family*: its refresh tokens (each replaced on use) or its session cookie, and the access tokens
made from them, which name it in their `sid` claim. Revoking the family (logout, a reused refresh token, a new
password, a disabled user) therefore stops them all at once, because every request re-checks it.

Login with MFA has two steps: the password answers with a short-lived `mfa_token` instead of tokens, and the
code (TOTP or a recovery code) is sent with it to finish.

What happens to a login after its password step (a wrong second-step code, a reused refresh token, a logout) is
told to a `SignInRecorder` the caller passes, because only the token knows whose login it was: the API's
sign-in audit records it in that user's tenant.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lore.backends.store.tenant_records import TenantRecords
from lore.backends.store.user_records import UserRecords
from lore.config import AuthSettings
from lore.errors import AccountLocked, Forbidden, InvalidInput, Unauthenticated
from lore.models import utcnow
from lore.security import passwords
from lore.security.mfa_flow import MfaFlow
from lore.security.sessions import check_csrf, csrf_token
from lore.security.tokens import AccessClaims, TokenSigner, new_opaque_token, opaque_hash
from lore.security.users import User, normal_email

_WRONG = "wrong email or password"

SignInRecorder = Callable[[str, str, str, dict[str, Any]], None]  # (tenant, actor, action, summary)


def _unrecorded(tenant_id: str, actor: str, action: str, summary: dict[str, Any]) -> None:
    """For callers that keep no sign-in audit (the command line, tests of the flow itself)."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


@dataclass(frozen=True, slots=True)
class MfaChallenge:
    """The password held; the user must now send a code with `token` within `expires_in` seconds."""

    token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class WebSession:
    user: User
    token: str  # the cookie's value; never in a response body
    csrf_token: str
    expires_at: datetime


class Logins:
    def __init__(
        self,
        users: UserRecords,
        tenants: TenantRecords,
        signer: TokenSigner,
        mfa: MfaFlow,
        settings: AuthSettings,
        signing_secret: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.users = users
        self.tenants = tenants
        self.signer = signer
        self.mfa = mfa
        self.settings = settings
        self._secret = signing_secret
        self._clock = clock

    # --- the password step -------------------------------------------------------------------------------

    def check_password(self, tenant_id: str, email: str, password: str) -> User | MfaChallenge:
        """The user, or an MFA challenge when it has MFA on. Takes the same time for an unknown account as for a
        wrong password (a dummy hash is verified); refuses a locked account before looking at the password."""
        user = self._find(tenant_id, email)
        if user is not None:
            self._check_not_locked(user)
        stored = user.password_hash if user is not None else None
        matches = passwords.verify_password(stored, password)  # with no stored hash, against the dummy one
        if user is None or stored is None or not matches:
            if user is not None:
                self._count_failure(user)
            raise Unauthenticated(_WRONG, details={"reason": "invalid_credentials"})
        self._check_enabled(user)
        self.users.clear_failures(user.id)
        if passwords.needs_rehash(stored):
            self.users.update(user.tenant_id, user.id, {"password_hash": passwords.hash_password(password)})
        if user.mfa_enabled:
            ttl = self.settings.mfa_challenge_seconds
            return MfaChallenge(self.signer.sign("mfa", user.id, ttl, {"tenant": user.tenant_id}), ttl)
        return user

    def check_code(self, mfa_token: str, code: str, record: SignInRecorder = _unrecorded) -> User:
        """The second step: the challenge's user, if `code` is a current TOTP code or an unused recovery code.
        Wrong codes count as failed logins, so the lockout bounds guessing; each failure is recorded."""
        claims = self.signer.verify(mfa_token, "mfa")
        user = self.users.get(str(claims.get("tenant")), claims["sub"])
        if user is None or not user.mfa_enabled:
            raise Unauthenticated("this MFA challenge is no longer valid", details={"reason": "invalid"})
        actor, summary = f"user:{user.id}", {"email": user.email, "with": "mfa"}
        try:
            self._check_not_locked(user)
        except AccountLocked:
            record(user.tenant_id, actor, "auth.login_failed", {**summary, "reason": "account_locked"})
            raise
        if not self.mfa.accepts(user, code):
            self._count_failure(user)
            record(user.tenant_id, actor, "auth.login_failed", {**summary, "reason": "invalid_code"})
            raise Unauthenticated("wrong or already used code", details={"reason": "invalid_code"})
        self._check_enabled(user)
        self.users.clear_failures(user.id)
        return user

    def _find(self, tenant_id: str, email: str) -> User | None:
        try:
            return self.users.by_email(tenant_id, normal_email(email))
        except InvalidInput:
            return None

    def _check_not_locked(self, user: User) -> None:
        if user.locked_until is not None and user.locked_until > self._clock():
            passwords.verify_password(None, "")  # as long as a real check: lockout says nothing faster
            wait = (user.locked_until - self._clock()).total_seconds()
            raise AccountLocked(
                "too many failed logins: try again later",
                retry_after=wait,
                details={"retry_after_seconds": math.ceil(wait)},
            )

    def _count_failure(self, user: User) -> None:
        """One more failure; from `login_max_failures` on, each locks the account for twice as long as the last."""
        failures = self.users.add_failure(user.id)
        excess = failures - self.settings.login_max_failures
        if excess >= 0:
            seconds = min(
                self.settings.login_lockout_seconds * 2**excess, self.settings.login_lockout_max_seconds
            )
            self.users.lock(user.id, self._clock() + timedelta(seconds=seconds))

    def _check_enabled(self, user: User) -> None:
        tenant = self.tenants.get(user.tenant_id)
        if user.disabled_at is not None or tenant is None or not tenant.enabled:
            raise Forbidden("this account is disabled", details={"reason": "disabled"})

    # --- token pairs -------------------------------------------------------------------------------------

    def issue_tokens(self, user: User) -> TokenPair:
        family = uuid.uuid4().hex
        refresh = new_opaque_token()
        self.users.add_token(opaque_hash(refresh), family, user, "refresh", self._refresh_expiry())
        return self._pair(user.id, user.tenant_id, user.role, family, refresh)

    def refresh(self, refresh_token: str, record: SignInRecorder = _unrecorded) -> TokenPair:
        """A new pair for a live refresh token, which is used up; a used one revokes its whole login (and is
        recorded: someone else holds a copy of the token)."""
        new = new_opaque_token()
        rotation = self.users.rotate(opaque_hash(refresh_token), opaque_hash(new), self._refresh_expiry())
        if rotation.outcome == "reused":
            if rotation.tenant_id is not None:
                record(
                    rotation.tenant_id,
                    f"user:{rotation.user_id}",
                    "auth.refresh_reused",
                    {"login": rotation.family_id},
                )
            raise Unauthenticated(
                "this refresh token was already used: every token of its login is revoked",
                details={"reason": "reused"},
            )
        if rotation.outcome == "dead" or rotation.user_id is None or rotation.family_id is None:
            raise Unauthenticated("not a live refresh token", details={"reason": "invalid"})
        holder = self.users.access(rotation.user_id, rotation.family_id)
        if holder is None or holder.user.disabled_at is not None or not holder.tenant.enabled:
            self.users.revoke_family(rotation.family_id)
            raise Unauthenticated("this account is disabled", details={"reason": "disabled"})
        user = holder.user
        return self._pair(user.id, user.tenant_id, user.role, rotation.family_id, new)

    def _pair(self, user_id: str, tenant_id: str, role: str, family: str, refresh: str) -> TokenPair:
        ttl = self.settings.access_token_seconds
        access = self.signer.access_token(AccessClaims(user_id, tenant_id, role, family), ttl)
        return TokenPair(access, refresh, ttl, self.settings.refresh_token_seconds)

    def _refresh_expiry(self) -> datetime:
        return utcnow() + timedelta(seconds=self.settings.refresh_token_seconds)

    def logout(self, token: str, record: SignInRecorder = _unrecorded) -> None:
        """End the login a refresh token or session cookie belongs to; an unknown token changes nothing."""
        login = self.users.login_of(opaque_hash(token))
        if login is not None:
            self.users.revoke_family(login.family_id)
            record(login.tenant_id, f"user:{login.user_id}", "auth.logout", {"login": login.family_id})

    # --- web sessions ------------------------------------------------------------------------------------

    def close_session(
        self, token: str, csrf_header: str | None, record: SignInRecorder = _unrecorded
    ) -> None:
        """Log out of a web session: a change like any other, so it needs the session's CSRF token."""
        check_csrf(self._secret, token, "DELETE", csrf_header)
        self.logout(token, record)

    def open_session(self, user: User) -> WebSession:
        token = new_opaque_token()
        expires_at = utcnow() + timedelta(seconds=self.settings.session_seconds)
        self.users.add_token(opaque_hash(token), uuid.uuid4().hex, user, "session", expires_at)
        return WebSession(user, token, csrf_token(self._secret, token), expires_at)
