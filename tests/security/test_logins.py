"""Logins on SQLite and PostgreSQL: passwords, lockout with backoff, disabled accounts, token pairs that rotate,
reuse that revokes a whole login, and logout."""

from __future__ import annotations

import pytest

from lore.errors import AccountLocked, Forbidden, Unauthenticated
from lore.security.identity import Identity
from lore.security.logins import MfaChallenge
from lore.security.principal import operator
from lore.security.scopes import ROLE_SCOPES
from lore.security.users import User
from tests.security.conftest import PASSWORD, Clock, Staff


def log_in(identity: Identity, email: str, password: str = PASSWORD, tenant: str = "default") -> User:
    step = identity.logins.check_password(tenant, email, password)
    assert isinstance(step, User)
    return step


def reason(error: pytest.ExceptionInfo[Exception]) -> object:
    assert isinstance(error.value, Unauthenticated | Forbidden | AccountLocked)
    return error.value.details.get("reason")


def test_a_password_login_gives_tokens_that_name_the_user(identity: Identity, staff: Staff) -> None:
    ada = staff.add("Ada@Example.org", "editor")
    pair = identity.logins.issue_tokens(log_in(identity, " ADA@example.org "))
    principal = identity.credentials.access_token(pair.access_token)
    assert principal is not None
    assert (principal.tenant_id, principal.kind, principal.id, principal.role) == (
        "default",
        "user",
        ada.id,
        "editor",
    )
    assert principal.scopes == ROLE_SCOPES["editor"]
    assert pair.expires_in == 900 and pair.refresh_token not in pair.access_token


@pytest.mark.parametrize("email", ["ada@example.org", "nobody@example.org", "not an email"])
def test_a_wrong_password_or_unknown_email_says_the_same(
    identity: Identity, staff: Staff, email: str
) -> None:
    staff.add("ada@example.org")
    with pytest.raises(Unauthenticated, match="wrong email or password") as error:
        identity.logins.check_password("default", email, "wrong password!")
    assert reason(error) == "invalid_credentials"


def test_a_user_of_another_tenant_cannot_log_in_here(identity: Identity, staff: Staff) -> None:
    staff.add("ada@example.org", tenant="other")
    with pytest.raises(Unauthenticated):
        identity.logins.check_password("default", "ada@example.org", PASSWORD)
    assert log_in(identity, "ada@example.org", tenant="other").tenant_id == "other"


def test_repeated_failures_lock_the_account_for_longer_each_time(
    identity: Identity, staff: Staff, clock: Clock
) -> None:
    staff.add("ada@example.org")  # 3 failures lock for 30 s, doubling, at most 100 s

    def fail() -> None:
        with pytest.raises(Unauthenticated):
            identity.logins.check_password("default", "ada@example.org", "wrong password!")

    def locked_for() -> float:
        """The lock's length, to the nearest 10 s: hashing takes real time on a busy machine."""
        with pytest.raises(AccountLocked) as error:
            identity.logins.check_password("default", "ada@example.org", PASSWORD)  # even the right one
        return round(error.value.retry_after, -1)

    fail(), fail(), fail()
    assert locked_for() == 30
    clock.advance(31)
    fail()
    assert locked_for() == 60
    clock.advance(61)
    fail()
    assert locked_for() == 100  # the cap
    clock.advance(101)
    log_in(identity, "ada@example.org")  # a success clears the count
    fail()
    log_in(identity, "ada@example.org")


def test_a_disabled_user_or_tenant_is_refused_at_once(identity: Identity, staff: Staff) -> None:
    admin = operator("default")
    ada = staff.add("ada@example.org")
    pair = identity.logins.issue_tokens(log_in(identity, "ada@example.org"))
    identity.accounts.update(admin, ada.id, disabled=True)
    with pytest.raises(Forbidden):
        identity.logins.check_password("default", "ada@example.org", PASSWORD)
    with pytest.raises(Unauthenticated):
        identity.credentials.access_token(pair.access_token)  # its logins ended with it
    identity.accounts.update(admin, ada.id, disabled=False)
    pair = identity.logins.issue_tokens(log_in(identity, "ada@example.org"))
    staff.db.tenants.set_disabled("default", True)
    with pytest.raises(Unauthenticated) as error:
        identity.credentials.access_token(pair.access_token)
    assert reason(error) == "tenant_disabled"
    with pytest.raises(Unauthenticated):
        identity.logins.refresh(pair.refresh_token)
    with pytest.raises(Forbidden):
        identity.logins.check_password("default", "ada@example.org", PASSWORD)


def test_a_refresh_token_works_once_and_its_reuse_ends_the_login(identity: Identity, staff: Staff) -> None:
    staff.add("ada@example.org")
    first = identity.logins.issue_tokens(log_in(identity, "ada@example.org"))
    elsewhere = identity.logins.issue_tokens(log_in(identity, "ada@example.org"))
    second = identity.logins.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert identity.credentials.access_token(second.access_token) is not None
    third = identity.logins.refresh(second.refresh_token)
    with pytest.raises(Unauthenticated) as error:
        identity.logins.refresh(first.refresh_token)  # a stolen copy comes back
    assert reason(error) == "reused"
    for pair in (first, second, third):
        with pytest.raises(Unauthenticated):
            identity.credentials.access_token(pair.access_token)
    with pytest.raises(Unauthenticated):
        identity.logins.refresh(third.refresh_token)
    assert identity.credentials.access_token(elsewhere.access_token) is not None  # another login carries on


def test_logout_ends_the_login_and_its_access_tokens(identity: Identity, staff: Staff) -> None:
    staff.add("ada@example.org")
    pair = identity.logins.issue_tokens(log_in(identity, "ada@example.org"))
    identity.logins.logout(pair.refresh_token)
    with pytest.raises(Unauthenticated) as error:
        identity.credentials.access_token(pair.access_token)
    assert reason(error) == "revoked"
    with pytest.raises(Unauthenticated):
        identity.logins.refresh(pair.refresh_token)
    identity.logins.logout("never-issued")  # nothing to end: no error


def test_a_role_change_applies_to_the_next_request(identity: Identity, staff: Staff) -> None:
    ada = staff.add("ada@example.org", "viewer")
    pair = identity.logins.issue_tokens(log_in(identity, "ada@example.org"))
    identity.accounts.update(operator("default"), ada.id, role="admin")
    principal = identity.credentials.access_token(pair.access_token)
    assert principal is not None and principal.scopes == ROLE_SCOPES["admin"]


def test_tokens_that_are_not_jwts_are_left_to_other_checks(identity: Identity) -> None:
    assert identity.credentials.access_token("lore_sk_abc") is None
    with pytest.raises(Unauthenticated):
        identity.credentials.access_token("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl")


def test_a_password_change_ends_every_login_and_needs_the_current_password(
    identity: Identity, staff: Staff
) -> None:
    staff.add("ada@example.org")
    pair = identity.logins.issue_tokens(log_in(identity, "ada@example.org"))
    me = identity.credentials.access_token(pair.access_token)
    assert me is not None
    with pytest.raises(Forbidden):
        identity.accounts.change_password(me, "not the password", "a brand new password")
    identity.accounts.change_password(me, PASSWORD, "a brand new password")
    with pytest.raises(Unauthenticated):
        identity.credentials.access_token(pair.access_token)
    with pytest.raises(Unauthenticated):
        identity.logins.check_password("default", "ada@example.org", PASSWORD)
    log_in(identity, "ada@example.org", "a brand new password")


def test_a_web_session_opens_and_logout_closes_it(identity: Identity, staff: Staff) -> None:
    staff.add("ada@example.org")
    session = identity.logins.open_session(log_in(identity, "ada@example.org"))
    principal = identity.credentials.session(session.token, "POST", session.csrf_token)
    assert principal.kind == "user"
    identity.logins.logout(session.token)
    with pytest.raises(Unauthenticated):
        identity.credentials.session(session.token, "GET", None)


def test_the_mfa_step_is_asked_for_when_mfa_is_on(identity: Identity, staff: Staff) -> None:
    ada = staff.add("ada@example.org")
    identity.users.start_mfa(ada.id, identity.mfa.cipher.encrypt("JBSWY3DPEHPK3PXP"))
    identity.users.enable_mfa(ada.id, 0, [])
    step = identity.logins.check_password("default", "ada@example.org", PASSWORD)
    assert isinstance(step, MfaChallenge) and step.expires_in == 300
    with pytest.raises(Unauthenticated):
        identity.credentials.access_token(step.token)  # a challenge is no access token
