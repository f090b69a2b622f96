"""TOTP MFA on SQLite and PostgreSQL: enrolment, the two-step login, single-use codes, recovery codes, admin
reset, and a tenant that requires it of its admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from lore.backends.store.schema import users
from lore.errors import AccountLocked, Conflict, InvalidInput, Unauthenticated
from lore.security import mfa
from lore.security.identity import Identity
from lore.security.logins import MfaChallenge
from lore.security.principal import operator
from lore.security.scopes import ROLE_SCOPES
from lore.security.tokens import TokenSigner
from lore.security.users import User
from tests.security.conftest import PASSWORD, SECRET, Clock, Staff


def enrolled(identity: Identity, user: User, clock: Clock) -> tuple[str, list[str]]:
    """Enrol `user`; returns its TOTP secret and recovery codes."""
    enrolment = identity.mfa.enrol(user)
    pending = identity.users.get(user.tenant_id, user.id)
    assert pending is not None
    codes = identity.mfa.verify(pending, mfa.current_code(enrolment.secret, clock()))
    clock.advance(30)  # the code verified is spent: the next one comes from the next step
    return enrolment.secret, codes


def challenge(identity: Identity, email: str = "ada@example.org") -> str:
    step = identity.logins.check_password("default", email, PASSWORD)
    assert isinstance(step, MfaChallenge)
    return step.token


def test_enrolment_gives_a_uri_and_a_secret_kept_encrypted(identity: Identity, staff: Staff) -> None:
    ada = staff.add("ada@example.org")
    enrolment = identity.mfa.enrol(ada)
    uri = urlparse(enrolment.provisioning_uri)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [enrolment.secret]
    assert "ada%40example.org" in uri.path and parse_qs(uri.query)["issuer"] == ["Lore (default)"]
    with identity.users._engine.connect() as conn:
        stored = conn.execute(sa.select(users.c.mfa_secret).where(users.c.id == ada.id)).scalar_one()
    assert enrolment.secret not in stored and identity.mfa.cipher.decrypt(stored) == enrolment.secret
    # until verified, logins still need only the password
    assert isinstance(identity.logins.check_password("default", "ada@example.org", PASSWORD), User)


def test_verification_needs_a_right_code_and_turns_mfa_on_once(
    identity: Identity, staff: Staff, clock: Clock
) -> None:
    ada = staff.add("ada@example.org")
    with pytest.raises(Conflict, match="enrol first"):
        identity.mfa.verify(ada, "123456")
    enrolment = identity.mfa.enrol(ada)
    pending = identity.users.get("default", ada.id)
    assert pending is not None
    wrong = f"{(int(mfa.current_code(enrolment.secret, clock())) + 1) % 1_000_000:06d}"
    with pytest.raises(InvalidInput):
        identity.mfa.verify(pending, wrong)
    codes = identity.mfa.verify(pending, mfa.current_code(enrolment.secret, clock()))
    assert len(codes) == 10 and len(set(codes)) == 10
    on = identity.users.get("default", ada.id)
    assert on is not None and on.mfa_enabled
    with pytest.raises(Conflict):
        identity.mfa.verify(on, mfa.current_code(enrolment.secret, clock()))
    with pytest.raises(Conflict):
        identity.mfa.enrol(on)


def test_login_with_mfa_takes_the_password_then_a_code_used_once(
    identity: Identity, staff: Staff, clock: Clock
) -> None:
    ada = staff.add("ada@example.org")
    secret, _ = enrolled(identity, ada, clock)
    code = mfa.current_code(secret, clock())
    assert identity.logins.check_code(challenge(identity), code).id == ada.id
    with pytest.raises(Unauthenticated) as error:
        identity.logins.check_code(challenge(identity), code)  # seen over a shoulder: replayed
    assert error.value.details["reason"] == "invalid_code"
    clock.advance(30)
    assert identity.logins.check_code(challenge(identity), mfa.current_code(secret, clock())).id == ada.id


def test_a_code_from_the_steps_around_now_is_accepted(identity: Identity, staff: Staff, clock: Clock) -> None:
    ada = staff.add("ada@example.org")
    secret, _ = enrolled(identity, ada, clock)
    clock.advance(30)  # the step before now is one not spent yet
    late = mfa.current_code(secret, clock() - timedelta(seconds=30))
    assert identity.logins.check_code(challenge(identity), late).id == ada.id
    too_old = mfa.current_code(secret, clock() - timedelta(seconds=120))
    with pytest.raises(Unauthenticated):
        identity.logins.check_code(challenge(identity), too_old)


def test_each_recovery_code_works_once(identity: Identity, staff: Staff, clock: Clock) -> None:
    ada = staff.add("ada@example.org")
    _, codes = enrolled(identity, ada, clock)
    assert identity.logins.check_code(challenge(identity), codes[0].upper()).id == ada.id
    with pytest.raises(Unauthenticated):
        identity.logins.check_code(challenge(identity), codes[0])
    assert identity.logins.check_code(challenge(identity), codes[1].replace("-", "")).id == ada.id
    assert identity.users.recovery_codes_left(ada.id) == 8


def test_new_recovery_codes_replace_the_old_ones(identity: Identity, staff: Staff, clock: Clock) -> None:
    ada = staff.add("ada@example.org")
    secret, old = enrolled(identity, ada, clock)
    on = identity.users.get("default", ada.id)
    assert on is not None
    with pytest.raises(InvalidInput):
        identity.mfa.regenerate_codes(on, old[0])  # a recovery code cannot make new ones
    new = identity.mfa.regenerate_codes(on, mfa.current_code(secret, clock()))
    assert set(new).isdisjoint(old) and identity.users.recovery_codes_left(ada.id) == 10
    with pytest.raises(Unauthenticated):
        identity.logins.check_code(challenge(identity), old[2])
    assert identity.logins.check_code(challenge(identity), new[0]).id == ada.id


def test_wrong_codes_count_towards_the_lockout(identity: Identity, staff: Staff, clock: Clock) -> None:
    ada = staff.add("ada@example.org")
    enrolled(identity, ada, clock)
    token = challenge(identity)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            identity.logins.check_code(token, "aaaa-bbbb-cccc-dddd")
    with pytest.raises(AccountLocked):
        identity.logins.check_code(token, "aaaa-bbbb-cccc-dddd")


def test_an_expired_challenge_is_refused(identity: Identity, staff: Staff, clock: Clock) -> None:
    ada = staff.add("ada@example.org")
    secret, _ = enrolled(identity, ada, clock)
    challenge(identity)  # the password holds, but the challenge kept was made longer ago than its 300 s:
    past = TokenSigner(SECRET, "lore", clock=lambda: datetime.now(UTC) - timedelta(seconds=400))
    token = past.sign("mfa", ada.id, 300, {"tenant": "default"})
    with pytest.raises(Unauthenticated) as error:
        identity.logins.check_code(token, mfa.current_code(secret, clock()))
    assert error.value.details["reason"] == "expired"


def test_an_admin_reset_turns_mfa_off(identity: Identity, staff: Staff, clock: Clock) -> None:
    ada = staff.add("ada@example.org")
    enrolled(identity, ada, clock)
    identity.accounts.reset_mfa(operator("default"), ada.id)
    assert isinstance(identity.logins.check_password("default", "ada@example.org", PASSWORD), User)
    assert identity.users.recovery_codes_left(ada.id) == 0
    enrolled(identity, ada, clock)  # and the user can enrol again


def test_a_tenant_requiring_mfa_holds_its_admins_to_viewing_until_they_enrol(
    identity: Identity, staff: Staff, clock: Clock
) -> None:
    admin = staff.add("admin@example.org", "admin")
    editor = staff.add("editor@example.org", "editor")
    staff.db.tenants.set_settings("default", {"require_admin_mfa": True})
    admin_pair = identity.logins.issue_tokens(admin)
    editor_pair = identity.logins.issue_tokens(editor)
    held = identity.credentials.access_token(admin_pair.access_token)
    assert held is not None and held.scopes == ROLE_SCOPES["viewer"] and held.role == "admin"
    assert identity.credentials.access_token(editor_pair.access_token).scopes == ROLE_SCOPES["editor"]  # type: ignore[union-attr]
    enrolled(identity, admin, clock)
    restored = identity.credentials.access_token(admin_pair.access_token)
    assert restored is not None and restored.scopes == ROLE_SCOPES["admin"]
