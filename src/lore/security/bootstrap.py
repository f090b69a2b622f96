"""First start: the signing secret and the default tenant's first owner.

Auth is always on, so a fresh installation needs a way in: when the store has no users at all, the default
tenant's owner (`LORE_ADMIN_EMAIL`) is created with a random password, which the server prints once and writes to
`initial-admin-password` in the data dir (mode 0600); the file is deleted when that password is changed.

The signing secret comes from `LORE_SIGNING_SECRET`. Only the embedded default (a SQLite store, one machine) may
go without: it generates one and keeps it in `signing-secret` in the data dir (mode 0600). Anything else refuses
to start, since replicas must share the secret and a default one would let anybody sign tokens.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from lore.backends.store.database import Database
from lore.config import Settings
from lore.errors import Conflict, InvalidInput
from lore.files import create_private, write_private
from lore.models import DEFAULT_TENANT
from lore.security import passwords
from lore.security.accounts import PasswordChanged
from lore.security.tokens import MIN_SECRET_CHARS
from lore.security.users import normal_email

SECRET_FILE = "signing-secret"
PASSWORD_FILE = "initial-admin-password"


def is_embedded(settings: Settings) -> bool:
    return settings.storage.store_url.startswith("sqlite")


def signing_secret(settings: Settings) -> str:
    """The configured secret, or the embedded default's own (generated on first use)."""
    configured = settings.auth.signing_secret
    if configured is not None:
        return _checked(configured.get_secret_value(), "LORE_SIGNING_SECRET")
    if not is_embedded(settings):
        raise InvalidInput(
            "LORE_SIGNING_SECRET must be set (at least 32 random characters, the same on every replica) "
            "when the store is not the embedded SQLite default",
            details={"setting": "LORE_SIGNING_SECRET"},
        )
    path = settings.storage.data_dir / SECRET_FILE
    create_private(path, secrets.token_urlsafe(48) + "\n")
    return _checked(path.read_text().strip(), str(path))


def _checked(secret: str, where: str) -> str:
    if len(secret) < MIN_SECRET_CHARS:
        raise InvalidInput(
            f"the signing secret in {where} is too short: it needs at least {MIN_SECRET_CHARS} characters",
            details={"min_length": MIN_SECRET_CHARS},
        )
    return secret


def ensure_owner(db: Database, settings: Settings) -> str | None:
    """Create the first owner if the store has no users; returns its password, to print once."""
    if db.users.count() > 0:
        return None
    db.tenants.ensure_default()
    password = passwords.random_password()
    email = normal_email(settings.auth.admin_email)
    try:
        db.users.create(DEFAULT_TENANT, email, "owner", passwords.hash_password(password))
    except Conflict:
        return None  # another process started at the same moment and made it
    write_private(settings.storage.data_dir / PASSWORD_FILE, password + "\n")
    return password


def forget_initial_password(data_dir: Path) -> PasswordChanged:
    """What to call after a password change: deletes the initial password file if it held the old password."""
    path = data_dir / PASSWORD_FILE

    def forget(old_hash: str | None) -> None:
        with contextlib.suppress(FileNotFoundError):
            if old_hash is not None and passwords.verify_password(old_hash, path.read_text().strip()):
                path.unlink()

    return forget


def announcement(email: str, password: str, data_dir: Path) -> str:
    """What the server prints once when it created the first owner."""
    return (
        f"Lore created the default tenant's owner {email} with the password {password}\n"
        f"(also in {data_dir / PASSWORD_FILE}, deleted once you change it: POST /v1/me/password)"
    )
