"""The users repository on SQLite and PostgreSQL: users, recovery codes, refresh token rotation and the
per-request checks."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from lore.backends.store.database import Database
from lore.backends.store.schema import group_members, groups
from lore.errors import Conflict, InvalidInput
from lore.models import utcnow
from lore.security.users import requires_admin_mfa

HOUR = timedelta(hours=1)


def test_a_user_is_created_once_per_tenant_and_email(db: Database) -> None:
    users = db.users
    user = users.create("default", "ada@example.org", "editor", "hash")
    assert users.get("default", user.id) == user
    assert users.by_email("default", "ada@example.org") == user
    assert user.failed_logins == 0 and not user.mfa_enabled and user.password_hash == "hash"
    with pytest.raises(Conflict):
        users.create("default", "ada@example.org", "viewer", None)
    db.tenants.create("other")
    assert users.create("other", "ada@example.org", "viewer", None).tenant_id == "other"
    assert users.get("other", user.id) is None  # a user id of another tenant finds nothing
    assert users.count() == 2 and users.count("default") == 1


def test_the_password_hash_never_shows_in_a_repr(db: Database) -> None:
    user = db.users.create("default", "ada@example.org", "editor", "secret-hash")
    assert "secret-hash" not in repr(user)


def test_users_are_listed_newest_first_in_pages(db: Database) -> None:
    made = [db.users.create("default", f"u{n}@example.org", "viewer", None) for n in range(5)]
    first = db.users.list_users("default", 3)
    assert first.next_cursor is not None
    second = db.users.list_users("default", 3, first.next_cursor)
    assert second.next_cursor is None
    listed = [user.id for user in first.items + second.items]
    assert sorted(listed) == sorted(user.id for user in made) and len(set(listed)) == 5
    with pytest.raises(InvalidInput):
        db.users.list_users("default", 3, "not-a-cursor")


def test_failures_count_up_and_clear(db: Database) -> None:
    user = db.users.create("default", "ada@example.org", "viewer", None)
    assert [db.users.add_failure(user.id) for _ in range(3)] == [1, 2, 3]
    until = utcnow() + HOUR
    db.users.lock(user.id, until)
    assert db.users.get("default", user.id).locked_until == until  # type: ignore[union-attr]
    db.users.clear_failures(user.id)
    cleared = db.users.get("default", user.id)
    assert cleared is not None and cleared.failed_logins == 0 and cleared.locked_until is None


def test_a_recovery_code_is_spent_once(db: Database) -> None:
    user = db.users.create("default", "ada@example.org", "viewer", None)
    assert db.users.start_mfa(user.id, "sealed")
    assert db.users.enable_mfa(user.id, 100, ["h1", "h2"])
    assert not db.users.start_mfa(user.id, "again")  # enabled: enrolling again needs a reset
    assert db.users.spend_recovery_code(user.id, "h1")
    assert not db.users.spend_recovery_code(user.id, "h1")
    assert not db.users.spend_recovery_code(user.id, "unknown")
    assert db.users.recovery_codes_left(user.id) == 1
    db.users.replace_recovery_codes(user.id, ["h3"])
    assert not db.users.spend_recovery_code(user.id, "h2")
    assert db.users.spend_recovery_code(user.id, "h3")


def test_a_totp_step_is_taken_once_and_only_forwards(db: Database) -> None:
    user = db.users.create("default", "ada@example.org", "viewer", None)
    db.users.start_mfa(user.id, "sealed")
    db.users.enable_mfa(user.id, 100, [])
    assert not db.users.take_totp_step(user.id, 100)  # the enrolment spent it
    assert db.users.take_totp_step(user.id, 101)
    assert not db.users.take_totp_step(user.id, 101)
    assert not db.users.take_totp_step(user.id, 99)


def test_an_mfa_reset_forgets_the_secret_and_the_codes(db: Database) -> None:
    user = db.users.create("default", "ada@example.org", "viewer", None)
    db.users.start_mfa(user.id, "sealed")
    db.users.enable_mfa(user.id, 100, ["h1"])
    reset = db.users.reset_mfa("default", user.id)
    assert reset is not None and reset.mfa_secret is None and not reset.mfa_enabled
    assert db.users.recovery_codes_left(user.id) == 0
    assert db.users.reset_mfa("other-tenant", user.id) is None


def test_a_refresh_token_rotates_and_a_reused_one_revokes_its_family(db: Database) -> None:
    user = db.users.create("default", "ada@example.org", "viewer", None)
    db.users.add_token("t1", "fam", user, "refresh", utcnow() + HOUR)
    db.users.add_token("other", "fam2", user, "refresh", utcnow() + HOUR)
    rotated = db.users.rotate("t1", "t2", utcnow() + HOUR)
    assert (rotated.outcome, rotated.user_id, rotated.family_id) == ("rotated", user.id, "fam")
    assert db.users.access(user.id, "fam") is not None
    assert db.users.rotate("t1", "t3", utcnow() + HOUR).outcome == "reused"
    assert db.users.rotate("t2", "t4", utcnow() + HOUR).outcome == "dead"  # the family is revoked
    assert db.users.access(user.id, "fam") is None
    assert db.users.rotate("other", "o2", utcnow() + HOUR).outcome == "rotated"  # other logins carry on
    assert db.users.rotate("never-issued", "x", utcnow() + HOUR).outcome == "dead"


def test_an_expired_or_session_token_does_not_rotate(db: Database) -> None:
    user = db.users.create("default", "ada@example.org", "viewer", None)
    db.users.add_token("old", "f1", user, "refresh", utcnow() - HOUR)
    db.users.add_token("cookie", "f2", user, "session", utcnow() + HOUR)
    assert db.users.rotate("old", "n1", utcnow() + HOUR).outcome == "dead"
    assert db.users.rotate("cookie", "n2", utcnow() + HOUR).outcome == "dead"
    assert db.users.session("cookie") is not None


def test_a_session_lives_until_it_expires_or_is_revoked(db: Database) -> None:
    user = db.users.create("default", "ada@example.org", "viewer", None)
    db.users.add_token("live", "f1", user, "session", utcnow() + HOUR)
    db.users.add_token("over", "f2", user, "session", utcnow() - HOUR)
    db.users.add_token("refresh", "f3", user, "refresh", utcnow() + HOUR)
    holder = db.users.session("live")
    assert holder is not None and holder.user.id == user.id and holder.tenant.enabled
    assert db.users.session("over") is None and db.users.session("refresh") is None
    assert (login := db.users.login_of("live")) is not None and login.family_id == "f1"
    db.users.revoke_user(user.id)
    assert db.users.session("live") is None and db.users.access(user.id, "f3") is None


def test_the_access_check_reads_the_tenant_and_groups_of_now(db: Database) -> None:
    user = db.users.create("default", "ada@example.org", "viewer", None)
    with db.engine.begin() as conn:
        conn.execute(sa.insert(groups).values(tenant_id="default", name="support", created_at=utcnow()))
        conn.execute(
            sa.insert(group_members).values(tenant_id="default", group_name="support", user_id=user.id)
        )
    db.tenants.set_settings("default", {"require_admin_mfa": True})
    holder = db.users.access(user.id, "no-such-family")
    assert holder is not None and holder.groups == {"support"} and requires_admin_mfa(holder.tenant)
    db.tenants.set_disabled("default", True)
    assert not db.users.access(user.id, "no-such-family").tenant.enabled  # type: ignore[union-attr]
    assert db.users.access("no-such-user", "f") is None
