"""Security fixtures: a migrated store on SQLite and on PostgreSQL (`store`: with a second tenant, for what is
kept per tenant), an `Identity` over it with a clock the test moves, and users made through the same calls the
API makes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from lore.backends.store.database import Database
from lore.config import Settings
from lore.models import DEFAULT_TENANT
from lore.registry import create_store
from lore.security import passwords
from lore.security.identity import Identity
from lore.security.users import User, normal_email

SECRET = "test-signing-secret-" + "s" * 32
TENANTS = ("default", "acme")
PASSWORD = "correct horse battery"


class Clock:
    """The time `Identity` sees: the real time plus whatever the test moved it on."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    store = create_store(Settings(_env_file=None, data_dir=tmp_path / "data", database_url=url))
    store.migrate()
    store.tenants.ensure_default()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def store(db: Database) -> Database:
    """`db` with a second tenant, `acme`, beside the default one."""
    db.tenants.create("acme")
    return db


@pytest.fixture
def auth_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        signing_secret=SECRET,
        login_max_failures=3,
        login_lockout_seconds=30,
        login_lockout_max_seconds=100,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def identity(db: Database, auth_settings: Settings, clock: Clock) -> Iterator[Identity]:
    made = Identity(db, auth_settings, SECRET, clock=clock)
    yield made
    made.close()


@cache
def password_hash() -> str:
    """PASSWORD's hash, made once: argon2 is slow on purpose, and most tests only need users to exist."""
    return passwords.hash_password(PASSWORD)


@dataclass
class Staff:
    identity: Identity
    db: Database

    def add(self, email: str, role: str = "viewer", tenant: str = DEFAULT_TENANT) -> User:
        """A user whose password is PASSWORD (`accounts.create` is tested on its own)."""
        if self.db.tenants.get(tenant) is None:
            self.db.tenants.create(tenant)
        return self.identity.users.create(tenant, normal_email(email), role, password_hash())


@pytest.fixture
def staff(identity: Identity, db: Database) -> Staff:
    passwords.warm_up()
    return Staff(identity, db)
