"""`Identity`: every part that proves who a user is, built once per process over the store and the settings.

>>> identity = Identity.open(db, settings)
>>> step = identity.logins.check_password("default", "admin@localhost", password)
>>> identity.credentials.access_token(identity.logins.issue_tokens(step).access_token)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from lore.backends.store.database import Database
from lore.config import Settings
from lore.models import utcnow
from lore.security import bootstrap
from lore.security.accounts import Accounts
from lore.security.credentials import UserCredentials
from lore.security.logins import Logins
from lore.security.mfa_flow import MfaFlow
from lore.security.oidc import OidcClient
from lore.security.secrets import SecretBox, TenantSecrets
from lore.security.sso import SingleSignOn
from lore.security.tokens import TokenSigner


class Identity:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        signing_secret: str,
        *,
        box: SecretBox | None = None,
        clock: Callable[[], datetime] = utcnow,
        http: httpx.Client | None = None,
    ) -> None:
        """`box` encrypts TOTP secrets and reads tenants' client secrets (default: the settings' keys)."""
        self.settings = settings
        self.users = db.users
        self.tenants = db.tenants
        self.signer = TokenSigner(signing_secret, settings.auth.token_issuer)  # verified against real time
        box = box or SecretBox.from_settings(settings)
        self.mfa = MfaFlow(db.users, box, clock)
        self.logins = Logins(
            db.users, db.tenants, self.signer, self.mfa, settings.auth, signing_secret, clock
        )
        on_password_changed = bootstrap.forget_initial_password(settings.storage.data_dir)
        self.accounts = Accounts(db.users, db.tenants, settings.auth, on_password_changed)
        self.credentials = UserCredentials(db.users, self.signer, signing_secret)
        self._http = http or httpx.Client(timeout=settings.oidc.oidc_timeout, follow_redirects=False)
        self.sso = SingleSignOn(
            db.users,
            db.tenants,
            self.signer,
            OidcClient(self._http),
            settings.oidc,
            TenantSecrets(db.secrets, box).read,
        )

    @classmethod
    def open(cls, db: Database, settings: Settings) -> Identity:
        """With the settings' signing secret (or the embedded default's own): refuses a missing or weak one."""
        return cls(db, settings, bootstrap.signing_secret(settings))

    def close(self) -> None:
        self._http.close()
