"""Passwords: argon2id hashes, a check that costs the same whether or not the account exists, and the rules a
new password must meet."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lore.errors import InvalidInput

MAX_PASSWORD_CHARS = 1024  # argon2 hashes any length; a bound keeps a request's cost bounded too

_HASHER = PasswordHasher()  # argon2id with the RFC 9106 low-memory parameters


@cache
def _dummy_hash() -> str:
    """A hash of nothing anyone knows, with the real parameters: what unknown accounts are checked against."""
    return _HASHER.hash(secrets.token_urlsafe(32))


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`. With no stored hash (an unknown account, a single sign-on only user)
    the dummy hash is checked instead, so the answer takes as long either way."""
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when `stored` was made with other parameters than today's: rehash it at the next login."""
    return _HASHER.check_needs_rehash(stored)


def check_new_password(password: str, min_length: int, email: str) -> None:
    """Refuse passwords that are short, overlong, or the account's own email."""
    if len(password) < min_length:
        raise InvalidInput(
            f"a password needs at least {min_length} characters", details={"min_length": min_length}
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(
            f"a password has at most {MAX_PASSWORD_CHARS} characters",
            details={"max_length": MAX_PASSWORD_CHARS},
        )
    if password.strip().lower() == email:
        raise InvalidInput("a password must not be the account's email")


def random_password() -> str:
    """24 URL-safe characters (144 bits): what the first owner gets."""
    return secrets.token_urlsafe(18)


def warm_up() -> None:
    """Compute the dummy hash now, so the first unknown-account login is not the slow one."""
    _dummy_hash()
