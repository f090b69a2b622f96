"""Auth by login through the SDK (a password, then an MFA code when it is on; an expired access token renewed
by the refresh token), and the management of keys and users."""

from __future__ import annotations

import uuid
from typing import Literal

import pyotp
import pytest
from lore_client import AuthenticationError, Lore, MfaRequired

from tests.served import ServedLore

PASSWORD = "correct horse battery staple"


def new_user(lore: Lore, role: Literal["editor", "viewer"] = "editor") -> str:
    email = f"sdk-{uuid.uuid4().hex[:8]}@example.com"
    lore.users.create(email, role=role, password=PASSWORD)
    return email


def test_a_user_logs_in_with_a_password_and_calls_as_itself(lore: Lore, served: ServedLore) -> None:
    email = new_user(lore)
    with Lore(served.url) as user:
        tokens = user.login(email, PASSWORD)
        assert tokens["access_token"] and tokens["refresh_token"]
        me = user.users.me()
        assert (me["email"], me["role"]) == (email, "editor")
        user.logout()
        with pytest.raises(AuthenticationError):
            user.users.me()


def test_a_wrong_password_is_refused(lore: Lore, served: ServedLore) -> None:
    email = new_user(lore)
    with Lore(served.url) as user, pytest.raises(AuthenticationError) as raised:
        user.login(email, "not the password")
    assert raised.value.status == 401


def test_an_expired_access_token_is_renewed_by_the_refresh_token(lore: Lore, served: ServedLore) -> None:
    email = new_user(lore)
    with Lore(served.url) as user:
        first = user.login(email, PASSWORD)
        user._exchange.credentials.token = "expired.access.token"  # what an access token past its time does
        assert user.users.me()["email"] == email
        assert user._exchange.credentials.refresh_token not in (None, first["refresh_token"])


def test_with_mfa_on_a_login_needs_its_code(lore: Lore, served: ServedLore) -> None:
    email = new_user(lore)
    with Lore(served.url) as user:
        user.login(email, PASSWORD)
        enrolment = user.auth.mfa_enrol()
        recovery = user.auth.mfa_verify(pyotp.TOTP(enrolment["secret"]).now())["recovery_codes"]
        assert user.users.me()["mfa_enabled"] is True
    with Lore(served.url) as user:
        with pytest.raises(MfaRequired) as raised:
            user.login(email, PASSWORD)
        user.login_mfa(raised.value.mfa_token, recovery[0])
        assert user.users.me()["email"] == email
    with Lore(served.url) as user:
        user.login(email, PASSWORD, mfa_code=lambda: recovery[1])
        assert user.users.me()["mfa_enabled"] is True


def test_keys_are_created_rotated_and_revoked(lore: Lore, served: ServedLore) -> None:
    created = lore.keys.create("sdk-search", ["search"], rate_limit="100/minute")
    assert created["key"] and created["scopes"] == ["search"]
    assert created["id"] in {key["id"] for key in lore.keys.list()}
    successor = lore.keys.rotate(created["id"], overlap_hours=1)
    assert lore.keys.get(created["id"])["state"] == "rotating"
    with Lore(served.url, api_key=successor["key"]) as rotated:
        assert rotated.search("anything")["hits"] is not None
    assert lore.keys.revoke(successor["id"])["state"] == "revoked"
    with Lore(served.url, api_key=successor["key"]) as revoked, pytest.raises(AuthenticationError):
        revoked.search("anything")


def test_users_are_listed_across_pages_and_changed(lore: Lore) -> None:
    emails = {new_user(lore, "viewer") for _ in range(3)}
    listed = {user["email"]: user for user in lore.users.list(limit=2)}
    assert emails <= set(listed)
    some = listed[min(emails)]
    assert lore.users.update(some["id"], disabled=True)["disabled"] is True
    assert lore.users.get(some["id"])["disabled"] is True
