"""Secrets at rest on SQLite and PostgreSQL: stored encrypted and read back, keys from settings or the embedded
default's key file, rotation that keeps every secret readable, and clear errors for wrong or missing keys."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from pydantic import SecretStr

from lore.backends.store.database import Database
from lore.backends.store.schema import tenant_secrets, users
from lore.config import Settings
from lore.errors import InvalidInput, NotFound
from lore.models import utcnow
from lore.security.secrets import (
    KEY_FILE,
    InvalidSecretKeys,
    KeySource,
    SecretBox,
    SecretKeysMissing,
    SecretUndecryptable,
    TenantSecrets,
    generate_key,
    masked,
    rotate,
)

OPENAI_KEY = "sk-tenant-0123456789abcdefABCDEF"


def box_of(*keys: str) -> SecretBox:
    return SecretBox(list(keys), KeySource("the test's keys"))


def raw_rows(store: Database) -> str:
    with store.engine.connect() as conn:
        found = [list(row) for table in (tenant_secrets, users) for row in conn.execute(sa.select(table))]
    return json.dumps(found, default=str)


def enrol_user(store: Database, box: SecretBox, totp: str) -> None:
    now = utcnow()
    row = {"id": "u1", "tenant_id": "acme", "email": "a@acme.test", "role": "owner"}
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(users).values(**row, mfa_secret=box.encrypt(totp), created_at=now, updated_at=now)
        )


def test_a_secret_round_trips_encrypted_and_is_only_shown_masked(store: Database) -> None:
    secrets = TenantSecrets(store.secrets, box_of(generate_key()))
    record = secrets.set("acme", "openai_api_key", OPENAI_KEY)
    assert record.masked == "sk-…CDEF" == masked(OPENAI_KEY)
    assert record.last_used_at is None and record.failing_since is None
    assert OPENAI_KEY not in raw_rows(store) and OPENAI_KEY not in repr(record.ciphertext)
    (listed,) = secrets.list("acme")
    assert secrets.reveal(listed) == OPENAI_KEY
    assert secrets.list("default") == []  # another tenant's are not listed
    replaced = secrets.set("acme", "openai_api_key", "sk-other-9876543210zyxwvu")
    assert (
        replaced.ciphertext != record.ciphertext and secrets.reveal(replaced) == "sk-other-9876543210zyxwvu"
    )
    secrets.delete("acme", "openai_api_key")
    assert secrets.list("acme") == []
    with pytest.raises(NotFound):
        secrets.delete("acme", "openai_api_key")


def test_unknown_names_empty_values_and_unknown_tenants_are_refused(store: Database) -> None:
    secrets = TenantSecrets(store.secrets, box_of(generate_key()))
    with pytest.raises(NotFound, match="known are"):
        secrets.set("acme", "aws_key", "x" * 20)
    with pytest.raises(InvalidInput):
        secrets.set("acme", "openai_api_key", "   ")
    with pytest.raises(NotFound, match="no tenant"):
        secrets.set("nobody", "openai_api_key", OPENAI_KEY)


def test_short_secrets_show_less() -> None:
    assert [masked(value) for value in ("abc", "abcdefghij", "x" * 16)] == ["…", "…ij", "xxx…xxxx"]


def test_a_wrong_key_is_a_clear_error_naming_the_secret_not_its_value(store: Database) -> None:
    secrets = TenantSecrets(store.secrets, box_of(generate_key()))
    record = secrets.set("acme", "anthropic_api_key", OPENAI_KEY)
    stranger = TenantSecrets(store.secrets, box_of(generate_key()))
    with pytest.raises(SecretUndecryptable) as caught:
        stranger.reveal(record)
    message = caught.value.message
    assert "anthropic_api_key of tenant 'acme'" in message and "the test's keys" in message
    assert OPENAI_KEY not in message and record.ciphertext not in message


def test_rotation_re_encrypts_everything_under_the_new_key_and_keeps_it_readable(store: Database) -> None:
    old = generate_key()
    box = box_of(old)
    secrets = TenantSecrets(store.secrets, box)
    secrets.set("acme", "openai_api_key", OPENAI_KEY)
    secrets.set("default", "oidc_client_secret", "client-secret-value-123")
    enrol_user(store, box, "JBSWY3DPEHPK3PXP")
    new = generate_key()
    rotated = rotate(store.secrets, box.with_first(new))
    assert rotated == {"acme": 2, "default": 1}
    only_new = TenantSecrets(store.secrets, box_of(new))
    values = {r.name: only_new.reveal(r) for tenant in ("acme", "default") for r in only_new.list(tenant)}
    assert values == {"openai_api_key": OPENAI_KEY, "oidc_client_secret": "client-secret-value-123"}
    with store.engine.connect() as conn:
        totp = conn.execute(sa.select(users.c.mfa_secret)).scalar_one()
    assert box_of(new).decrypt(totp) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretUndecryptable):
        box_of(old).decrypt(totp)  # nothing is left under the old key


def test_a_rotation_that_fails_changes_nothing(store: Database) -> None:
    box = box_of(generate_key())
    secrets = TenantSecrets(store.secrets, box)
    secrets.set("acme", "openai_api_key", OPENAI_KEY)
    secrets.set("default", "openai_api_key", OPENAI_KEY)
    foreign = box_of(generate_key()).encrypt("undecryptable")
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(tenant_secrets)
            .where(tenant_secrets.c.tenant_id == "default")
            .values(ciphertext=foreign)
        )
    before = raw_rows(store)
    with pytest.raises(SecretUndecryptable, match="openai_api_key of tenant 'default'"):
        rotate(store.secrets, box.with_first(generate_key()))
    assert raw_rows(store) == before


def test_the_embedded_default_keeps_its_own_private_key_file(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")
    first = SecretBox.from_settings(settings)
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = SecretBox.from_settings(settings)
    assert again.keys == first.keys and again.decrypt(first.encrypt("x")) == "x"
    path.chmod(0o644)
    with pytest.raises(InvalidSecretKeys, match="chmod 600"):
        SecretBox.from_settings(settings)


def test_processes_starting_together_share_one_key_file(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    start = threading.Barrier(8)
    boxes: list[SecretBox] = []

    def open_box() -> None:
        start.wait()
        boxes.append(SecretBox.from_key_file(path))

    threads = [threading.Thread(target=open_box) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({tuple(box.keys) for box in boxes}) == 1 and len(boxes[0].keys) == 1
    assert [path.name for path in tmp_path.iterdir()] == [KEY_FILE]  # no drafts left behind


def test_a_server_reads_the_key_file_again_after_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    serving = SecretBox.from_key_file(path)
    rotating = SecretBox.from_key_file(path).with_first(generate_key())
    token = rotating.encrypt("made after the rotation")
    assert serving.decrypt(token) == "made after the rotation"
    assert serving.keys == rotating.keys and len(serving.keys) == 2


def test_keys_come_from_the_setting_newest_first() -> None:
    new, old = generate_key(), generate_key()
    settings = Settings(
        _env_file=None, database_url="postgresql://x/y", secret_keys=SecretStr(f"{new}, {old}")
    )
    box = SecretBox.from_settings(settings)
    assert box.keys == [new, old]
    token = box.encrypt("x")
    assert box_of(new).decrypt(token) == "x"  # the first key encrypts
    assert box.decrypt(box_of(old).encrypt("y")) == "y"  # every key decrypts
    assert new not in repr(box) and new not in repr(settings)


def test_outside_the_embedded_default_keys_are_required(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url="postgresql://x/y")
    with pytest.raises(SecretKeysMissing, match="LORE_SECRET_KEYS must be set"):
        SecretBox.from_settings(settings)
    assert not (tmp_path / KEY_FILE).exists()


@pytest.mark.parametrize("value", ["", "not-a-key", f"{Fernet.generate_key().decode()},tooshort"])
def test_a_bad_key_setting_is_named_by_position_never_shown(value: str) -> None:
    settings = Settings(_env_file=None, secret_keys=SecretStr(value))
    with pytest.raises(InvalidSecretKeys) as caught:
        SecretBox.from_settings(settings)
    assert "LORE_SECRET_KEYS" in caught.value.message
    assert "tooshort" not in caught.value.message and "not-a-key" not in caught.value.message
