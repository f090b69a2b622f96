"""The key cache: a key a process has checked is checked again without reading the store, and a revocation,
rotation or disabled tenant from any other process still stops it on the next request (on PostgreSQL, as soon
as the NOTIFY arrives). Two `Database` objects on one store stand for two processes; the last test uses two
real server processes and the CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from lore.backends.store.database import Database
from lore.backends.store.key_stamp import FileStamp
from lore.backends.store.schema import api_keys
from lore.cli.main import app as cli
from lore.config import Settings
from lore.errors import Unauthenticated
from lore.models import utcnow
from lore.registry import create_store
from lore.security.keys import KeyRing
from lore.security.principal import Principal
from tests.keys import bearer, mint_key
from tests.served import ServedLore, serve_env
from tests.waiting import wait_for

NOTIFY_SECONDS = 10.0  # the longest a NOTIFY may take to reach the other process on a busy machine


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    return Settings(_env_file=None, data_dir=tmp_path / "data", database_url=url)


@contextmanager
def opened(settings: Settings) -> Iterator[Database]:
    db = create_store(settings)
    try:
        db.migrate()
        yield db
    finally:
        db.close()


@pytest.fixture
def here(store_settings: Settings) -> Iterator[Database]:
    """The process that serves (and caches)."""
    with opened(store_settings) as db:
        wait_for(lambda: db.key_stamp.current() is not None, "the key stamp to be readable", poll=0.02)
        yield db


@pytest.fixture
def there(store_settings: Settings, here: Database) -> Iterator[Database]:
    """Another process on the same store."""
    with opened(store_settings) as db:
        yield db


def cached_ring(db: Database, seconds: float = 30.0) -> KeyRing:
    return KeyRing(db.api_keys, db.tenants, cache_seconds=seconds)


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        if args[2] != "BEGIN":  # SQLite's own transaction start, sent as a statement
            statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def refused_soon(check: Callable[[], Principal], db: Database) -> Unauthenticated:
    """The Unauthenticated `check` raises: at once on SQLite, once the NOTIFY has arrived on PostgreSQL."""
    deadline = time.monotonic() + (NOTIFY_SECONDS if db.engine.dialect.name == "postgresql" else 0.0)
    while True:
        try:
            check()
        except Unauthenticated as refused:
            return refused
        assert time.monotonic() < deadline, "the key still works"
        time.sleep(0.01)


def test_a_checked_key_is_checked_again_without_reading_the_store(here: Database) -> None:
    ring, token = cached_ring(here), mint_key(here)
    first = ring.authenticate(token)
    with counted(here) as statements:
        again = [ring.authenticate(token) for _ in range(20)]
        on_the_loop = ring.authenticate_cached(token)
    assert statements == []
    assert {p.id for p in again} == {first.id} and on_the_loop == first
    uncached = KeyRing(here.api_keys, here.tenants)
    with counted(here) as statements:
        uncached.authenticate(token)
    assert len(statements) == 1  # without a cache: one read per check


def test_a_wrong_secret_is_refused_for_a_kept_key_and_unknown_keys_are_never_kept(here: Database) -> None:
    ring, token = cached_ring(here), mint_key(here)
    ring.authenticate(token)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthenticated, match="not valid"):
        ring.authenticate_cached(forged)
    unknown = "lore_sk_zzzzzzzzzzzz_" + "x" * 43
    for _ in range(2):
        with counted(here) as statements, pytest.raises(Unauthenticated):
            ring.authenticate(unknown)
        assert len(statements) == 1
    assert ring.authenticate_cached(unknown) is None


def test_a_key_revoked_by_another_process_stops_on_the_next_check(here: Database, there: Database) -> None:
    ring, token = cached_ring(here), mint_key(here)
    key_id = ring.authenticate(token).id
    KeyRing(there.api_keys, there.tenants).revoke("default", key_id)
    refused = refused_soon(lambda: ring.authenticate(token), here)
    assert refused.details["state"] == "revoked"
    with pytest.raises(Unauthenticated):  # the revoked row is kept: refused without a read
        ring.authenticate_cached(token)


def test_a_rotation_and_a_disabled_tenant_from_another_process_stop_kept_keys(
    here: Database, there: Database
) -> None:
    there.tenants.create("acme")
    ring, token = cached_ring(here), mint_key(here, tenant="acme")
    key_id = ring.authenticate(token).id
    other = KeyRing(there.api_keys, there.tenants)
    other.rotate("acme", key_id, timedelta(0), by="operator")
    assert refused_soon(lambda: ring.authenticate(token), here).details["state"] == "expired"
    fresh = mint_key(here, tenant="acme")
    ring.authenticate(fresh)
    there.tenants.set_disabled("acme", True)
    assert "disabled" in str(refused_soon(lambda: ring.authenticate(fresh), here))
    there.tenants.set_disabled("acme", False)
    wait_for(lambda: _works(ring, fresh), "the re-enabled tenant's key to work", poll=0.01)


def _works(ring: KeyRing, token: str) -> bool:
    try:
        ring.authenticate(token)
    except Unauthenticated:
        return False
    return True


def test_a_write_behind_lores_back_is_seen_once_the_entry_is_older_than_its_seconds(here: Database) -> None:
    ring, token = cached_ring(here, seconds=0.2), mint_key(here)
    key_id = ring.authenticate(token).id
    with here.engine.begin() as conn:  # no stamp bump: what an operator's own SQL would do
        conn.execute(sa.update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=utcnow()))
    ring.authenticate(token)  # still kept
    time.sleep(0.25)
    with pytest.raises(Unauthenticated):
        ring.authenticate(token)


def test_a_stamp_that_cannot_be_written_turns_the_cache_off_and_never_fails_the_write(tmp_path: Path) -> None:
    """The revocation it follows has committed: a failed bump is logged, and this process caches no more."""
    stamp = FileStamp(tmp_path / "a-directory-not-a-file")
    (tmp_path / "a-directory-not-a-file").mkdir()
    stamp.bump()
    assert stamp.current() is None
    healthy = FileStamp(tmp_path / "stamp")
    before = healthy.current()
    healthy.bump()
    assert healthy.current() not in (None, before)


def test_a_listener_that_reconnects_drops_every_kept_key(database_url: str, tmp_path: Path) -> None:
    with opened(Settings(_env_file=None, data_dir=tmp_path / "data", database_url=database_url)) as db:
        wait_for(lambda: db.key_stamp.current() is not None, "the listener to connect", poll=0.02)
        ring, token = cached_ring(db), mint_key(db)
        ring.authenticate(token)
        before = db.key_stamp.current()
        with db.engine.begin() as conn:  # what a restarted server or a dropped connection does to it
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN %'"
                )
            ).scalar_one()
        assert killed == 1
        wait_for(lambda: db.key_stamp.current() not in (None, before), "the listener to reconnect", poll=0.02)
        with counted(db) as statements:
            ring.authenticate(token)
        assert len(statements) == 1  # notifications may have been missed while it was down: read again


def test_a_key_revoked_with_the_cli_stops_in_every_server_worker(tmp_path: Path, model_cache: Path) -> None:
    data_dir = tmp_path / "data"
    env = serve_env(data_dir, model_cache)
    with ServedLore(env, cwd=tmp_path, workers=2) as served:
        created = httpx.post(
            f"{served.url}/v1/keys", json={"name": "both", "scopes": ["search"]}, headers=served.headers
        ).json()
        key = bearer(created["key"])

        def statuses() -> set[int]:  # a new connection each: either worker may take it
            return {
                httpx.post(
                    f"{served.url}/v1/search", json={"query": "q"}, headers=key, timeout=60
                ).status_code
                for _ in range(12)
            }

        assert statuses() == {200}
        result = CliRunner().invoke(
            cli, ["keys", "revoke", created["id"], "--json", "--data-dir", str(data_dir)]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["state"] == "revoked"
        assert statuses() == {401}
