"""Password hashes: argon2id, checked against a dummy hash when there is none, and the rules for new ones."""

from __future__ import annotations

import pytest

from lore.errors import InvalidInput
from lore.security import passwords


def test_a_password_verifies_against_its_own_hash_only() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse batterY")
    assert not passwords.needs_rehash(stored)


def test_no_hash_and_a_broken_hash_verify_nothing() -> None:
    assert not passwords.verify_password(None, "")
    assert not passwords.verify_password(None, "anything at all")
    assert not passwords.verify_password("not a hash", "anything at all")


@pytest.mark.parametrize(
    ("password", "message"),
    [("short", "at least 12"), ("x" * 1025, "at most 1024"), (" Admin@Example.org ", "email")],
)
def test_weak_new_passwords_are_refused(password: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        passwords.check_new_password(password, 12, "admin@example.org")


def test_random_passwords_are_long_and_different() -> None:
    first, second = passwords.random_password(), passwords.random_password()
    assert len(first) == 24 and first != second
