"""First start: the embedded default keeps its own signing secret, anything else must be given one, and the first
owner's random password is written once (0600) and deleted when it is changed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lore.backends.store.database import Database
from lore.config import Settings
from lore.errors import InvalidInput
from lore.files import create_private
from lore.security import bootstrap
from lore.security.identity import Identity
from lore.security.principal import operator
from lore.security.users import User
from tests.security.conftest import Staff


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_default_generates_its_secret_once(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    secret = bootstrap.signing_secret(settings)
    path = tmp_path / "data" / bootstrap.SECRET_FILE
    assert len(secret) >= 32 and path.read_text().strip() == secret and mode(path) == 0o600
    assert bootstrap.signing_secret(settings) == secret  # kept: tokens outlive a restart


def test_a_configured_secret_wins_and_must_be_long(tmp_path: Path) -> None:
    long = "k" * 40
    assert bootstrap.signing_secret(Settings(_env_file=None, data_dir=tmp_path, signing_secret=long)) == long
    assert not (tmp_path / bootstrap.SECRET_FILE).exists()
    with pytest.raises(InvalidInput, match="too short"):
        bootstrap.signing_secret(Settings(_env_file=None, data_dir=tmp_path, signing_secret="changethis"))


def test_a_server_store_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url="postgresql://lore@db.example/lore")
    with pytest.raises(InvalidInput, match="LORE_SIGNING_SECRET must be set"):
        bootstrap.signing_secret(settings)
    assert not (tmp_path / bootstrap.SECRET_FILE).exists()


def test_a_private_file_is_created_whole_and_only_once(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "file"
    assert create_private(path, "first")
    assert not create_private(path, "second")  # a second process starting at the same moment keeps the first
    assert path.read_text() == "first" and mode(path) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["file"]  # no drafts left behind


def first_owner(db: Database, settings: Settings) -> tuple[str, Path]:
    password = bootstrap.ensure_owner(db, settings)
    assert password is not None
    return password, settings.storage.data_dir / bootstrap.PASSWORD_FILE


def test_the_first_start_creates_the_owner_with_a_password_file(
    db: Database, auth_settings: Settings
) -> None:
    password, path = first_owner(db, auth_settings)
    assert path.read_text().strip() == password and mode(path) == 0o600
    owner = db.users.by_email("default", "admin@localhost")
    assert owner is not None and owner.role == "owner"
    assert bootstrap.ensure_owner(db, auth_settings) is None  # once: there are users now
    assert path.read_text().strip() == password


def test_the_file_goes_when_the_owner_changes_that_password(
    db: Database, identity: Identity, auth_settings: Settings, staff: Staff
) -> None:
    password, path = first_owner(db, auth_settings)
    other = staff.add("ada@example.org", "admin")
    identity.accounts.reset_password(operator("default"), other.id, "another fine password")
    assert path.exists()  # someone else's password changed
    step = identity.logins.check_password("default", "admin@localhost", password)
    assert isinstance(step, User)
    me = identity.credentials.access_token(identity.logins.issue_tokens(step).access_token)
    assert me is not None
    identity.accounts.change_password(me, password, "the owner's own password")
    assert not path.exists()
