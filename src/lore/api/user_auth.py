"""Users' credentials in the auth core: the check of an access token (`app.state.credential_checks`) and of a
web session cookie (`app.state.cookie_checks`), and the `Identity` a server opens at start-up."""

from __future__ import annotations

import sys

from fastapi import Request

from lore.api.auth import CookieCheck, CredentialCheck
from lore.backends.store.database import Database
from lore.config import Settings
from lore.security import bootstrap, passwords
from lore.security.identity import Identity
from lore.security.principal import Principal
from lore.security.secrets import SecretBox
from lore.security.sessions import CSRF_HEADER, SESSION_COOKIE


def access_token_check(identity: Identity) -> CredentialCheck:
    def check(token: str, _request: Request) -> Principal | None:
        return identity.credentials.access_token(token)

    return check


def session_cookie_check(identity: Identity) -> CookieCheck:
    def check(request: Request) -> Principal | None:
        token = request.cookies.get(SESSION_COOKIE)
        if token is None:
            return None
        return identity.credentials.session(token, request.method, request.headers.get(CSRF_HEADER))

    return check


def open_identity(db: Database, settings: Settings, signing_secret: str, box: SecretBox) -> Identity:
    """The server's `Identity`; on a first start (no users at all) it creates the default tenant's owner and
    prints its password, once."""
    identity = Identity(db, settings, signing_secret, box=box)
    password = bootstrap.ensure_owner(db, settings)
    if password is not None:
        message = bootstrap.announcement(settings.auth.admin_email, password, settings.storage.data_dir)
        print(message, file=sys.stderr, flush=True)
    passwords.warm_up()
    return identity
