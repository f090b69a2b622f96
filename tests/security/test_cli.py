"""`lore audit verify` and `lore secrets rotate|generate-key`, run as real processes on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from pydantic import SecretStr

from lore.backends.store.database import Database
from lore.backends.store.schema import audit_log
from lore.config import Settings
from lore.registry import create_store
from lore.security.audit import AuditLog
from lore.security.secrets import KEY_FILE, KeySource, SecretBox, TenantSecrets, generate_key
from tests.cli.conftest import run
from tests.security.conftest import TENANTS


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "LORE_DATA_DIR": str(tmp_path / "data")}
    for name in ("LORE_DATABASE_URL", "LORE_SECRET_KEYS"):
        env.pop(name, None)
    if request.param == "postgres":
        env |= {
            "LORE_DATABASE_URL": request.getfixturevalue("database_url"),
            "LORE_SECRET_KEYS": generate_key(),
        }
    return env


def settings_of(env: dict[str, str]) -> Settings:
    keys = env.get("LORE_SECRET_KEYS")
    return Settings(
        _env_file=None,
        data_dir=Path(env["LORE_DATA_DIR"]),
        database_url=env.get("LORE_DATABASE_URL"),
        secret_keys=SecretStr(keys) if keys else None,
    )


@pytest.fixture
def db(env: dict[str, str]) -> Iterator[Database]:
    store = create_store(settings_of(env))
    store.migrate()
    for tenant in TENANTS:
        store.documents.ensure_collection(tenant, "default")
    yield store
    store.close()


def test_verify_passes_an_intact_log_and_names_the_seq_of_a_changed_record(
    env: dict[str, str], db: Database
) -> None:
    audit = AuditLog(db.audit)
    for i in range(3):
        audit.record("default", "user:u1", "document.added", target=f"d{i}")
    audit.record("acme", "user:u2", "document.added", target="a1")
    intact = run("audit", "verify", env=env)
    assert "default: 3 records, chain intact" in intact.stdout and "acme: 1 records" in intact.stdout
    where = sa.and_(audit_log.c.tenant_id == "default", audit_log.c.seq == 2)
    with db.engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(where).values(actor="user:forger"))
    broken = run("audit", "verify", env=env, check=False)
    assert broken.returncode == 1 and "default: seq 2 edited" in broken.stderr
    report = json.loads(run("audit", "verify", "--tenant", "default", "--json", env=env, check=False).stdout)
    assert report["ok"] is False and [tenant["tenant_id"] for tenant in report["tenants"]] == ["default"]
    assert report["tenants"][0]["breaks"] == [
        {"seq": 2, "reason": "edited", "message": "record 2 was changed"}
    ]


def test_rotate_re_encrypts_every_secret_under_a_new_key(env: dict[str, str], db: Database) -> None:
    box = SecretBox.from_settings(settings_of(env))
    secrets = TenantSecrets(db.secrets, box)
    secrets.set("default", "openai_api_key", "sk-default-0123456789abcdef")
    secrets.set("acme", "anthropic_api_key", "sk-ant-acme-0123456789abcdef")
    out = json.loads(run("secrets", "rotate", "--json", env=env).stdout)
    assert out["rotated"] == 2 and out["tenants"] == {"acme": 1, "default": 1}
    if out["key_file"] is not None:  # the embedded default: the file holds the new key, then the old one
        assert out["key"] is None and out["key_file"] == str(Path(env["LORE_DATA_DIR"]) / KEY_FILE)
        new_key, old_key = Path(out["key_file"]).read_text().split()
        assert old_key == box.keys[0]
    else:
        new_key = out["key"]
    only_new = TenantSecrets(db.secrets, SecretBox([new_key], KeySource("the new key")))
    revealed = {only_new.reveal(record) for tenant in TENANTS for record in only_new.list(tenant)}
    assert revealed == {"sk-default-0123456789abcdef", "sk-ant-acme-0123456789abcdef"}
    actions = {(r.tenant_id, r.actor, r.action) for t in TENANTS for r in db.audit.chain(t)}
    assert actions == {("default", "operator", "secrets.rotated"), ("acme", "operator", "secrets.rotated")}


def test_rotate_takes_the_key_it_is_given(env: dict[str, str], db: Database) -> None:
    secrets = TenantSecrets(db.secrets, SecretBox.from_settings(settings_of(env)))
    secrets.set("acme", "oidc_client_secret", "client-secret-0123456789")
    given = generate_key()
    rotated = run("secrets", "rotate", "--new-key", given, env=env)
    assert given not in rotated.stdout  # the operator knows it already: it is not echoed
    (record,) = secrets.list("acme")
    assert SecretBox([given], KeySource("given")).decrypt(record.ciphertext) == "client-secret-0123456789"


def test_rotate_refuses_a_bad_key_and_a_store_without_keys(env: dict[str, str], db: Database) -> None:
    bad = run("secrets", "rotate", "--new-key", "nope", env=env, check=False)
    assert (
        bad.returncode == 2 and "error [invalid_secret_keys]" in bad.stderr and "Traceback" not in bad.stderr
    )
    if "LORE_DATABASE_URL" in env:
        keyless = {name: value for name, value in env.items() if name != "LORE_SECRET_KEYS"}
        missing = run("secrets", "rotate", env=keyless, check=False)
        assert missing.returncode == 2 and "error [secret_keys_missing]" in missing.stderr


def test_generate_key_prints_a_fernet_key() -> None:
    key = run("secrets", "generate-key", env=dict(os.environ)).stdout.strip()
    token = Fernet(key).encrypt(b"x")
    assert Fernet(key).decrypt(token) == b"x"


def test_the_operators_key_and_tenant_commands_are_recorded(tmp_path: Path) -> None:
    env = {**os.environ, "LORE_DATA_DIR": str(tmp_path / "data")}
    env.pop("LORE_DATABASE_URL", None)
    run("tenants", "create", "acme", env=env)
    key = json.loads(run("keys", "create", "--tenant", "acme", "--scope", "ask", "--json", env=env).stdout)
    store = create_store(settings_of(env))
    try:
        log = [(r.action, r.actor, r.target) for r in store.audit.chain("acme")]
    finally:
        store.close()
    assert log == [("tenant.created", "operator", "acme"), ("key.created", "operator", key["id"])]


def test_serve_refuses_to_start_on_postgresql_without_secret_keys(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "LORE_DATA_DIR": str(tmp_path / "data"), "LORE_DATABASE_URL": database_url}
    env.pop("LORE_SECRET_KEYS", None)
    refused = run("serve", "--port", "0", env=env, check=False)
    assert refused.returncode == 2 and "error [secret_keys_missing]" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "data" / KEY_FILE).exists()
