"""Secrets at rest: what Lore must keep in a readable form (tenants' provider keys, single sign-on client
secrets, users' TOTP secrets) is stored encrypted with Fernet under the keys of `LORE_SECRET_KEYS`.

    >>> box = SecretBox.from_settings(settings)
    >>> token = box.encrypt("sk-live-...")
    >>> box.decrypt(token)
    'sk-live-...'

The first key encrypts and every key decrypts (`MultiFernet`), so keys rotate without downtime: put the new key
first everywhere, run `lore secrets rotate` to re-encrypt every secret under it, then drop the old key. On the
embedded default (SQLite in the data dir, no keys configured) Lore keeps its own keys in `<data dir>/secret-keys`
(mode 0600), generated on first use; any other store refuses to start without `LORE_SECRET_KEYS`, since replicas
must share the keys. A secret is never returned in the clear by the API, only its masked form.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from lore.backends.store.secret_records import SecretRecord, SecretRecords
from lore.config import Settings
from lore.errors import InvalidInput, LoreError, NotFound, Unavailable
from lore.files import write_private

KEY_FILE = "secret-keys"
SecretName = Literal["openai_api_key", "anthropic_api_key", "oidc_client_secret"]
SECRET_NAMES: tuple[SecretName, ...] = get_args(SecretName)
MAX_SECRET_CHARS = 4096


class SecretKeysMissing(LoreError):
    code = "secret_keys_missing"


class InvalidSecretKeys(LoreError):
    code = "invalid_secret_keys"


class SecretUndecryptable(Unavailable):
    """A stored secret none of the configured keys decrypts: a key it was encrypted under was dropped (or the
    ciphertext was altered). The server is misconfigured, so this is a 503, never the caller's fault."""

    code = "secret_undecryptable"


def generate_key() -> str:
    return Fernet.generate_key().decode()


def parse_keys(text: str, origin: str) -> list[str]:
    """Comma- or line-separated Fernet keys, newest first; a bad one is named by position, never shown."""
    keys = [key.strip() for key in text.replace("\n", ",").split(",") if key.strip()]
    if not keys:
        raise InvalidSecretKeys(f"{origin} holds no key")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            message = f"key {position} of {origin} is not a Fernet key (32 url-safe base64-encoded bytes)"
            raise InvalidSecretKeys(message, details={"position": position}) from None
    return keys


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where the keys came from: the setting, or the embedded default's key file."""

    origin: str
    key_file: Path | None = None


class SecretBox:
    """Encrypts and decrypts secrets under an ordered list of keys; the first one encrypts."""

    def __init__(self, keys: Sequence[str], source: KeySource) -> None:
        if not keys:
            raise InvalidSecretKeys(f"{source.origin} holds no key")
        self.keys = list(keys)
        self.source = source
        self._fernet = MultiFernet([Fernet(key) for key in self.keys])

    def __repr__(self) -> str:
        return f"SecretBox({len(self.keys)} keys from {self.source.origin})"

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        configured = settings.secrets.secret_keys
        if configured is not None:
            origin = "LORE_SECRET_KEYS"
            return cls(parse_keys(configured.get_secret_value(), origin), KeySource(origin))
        if settings.storage.database_url is not None:
            raise SecretKeysMissing(
                "LORE_SECRET_KEYS must be set when the store is not the embedded SQLite: every process that "
                "shares the store needs the same keys (make one with `lore secrets generate-key`)"
            )
        return cls.from_key_file(settings.storage.data_dir / KEY_FILE)

    @classmethod
    def from_key_file(cls, path: Path) -> SecretBox:
        """The keys of the file, which is created with one new key if it does not exist yet."""
        if not path.exists():
            _create_key_file(path, generate_key())
        return cls(_read_key_file(path), KeySource(str(path), path))

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str, what: str = "a stored secret") -> str:
        for _ in range(2):
            try:
                return self._fernet.decrypt(token.encode()).decode()
            except InvalidToken:
                if not self._reload():
                    break
        raise self._undecryptable(what)

    def _reload(self) -> bool:
        """Read the key file again if `lore secrets rotate` changed it since: a running server then decrypts
        what the rotation encrypted under the new key. True when the keys changed."""
        path = self.source.key_file
        keys = _read_key_file(path) if path is not None and path.exists() else self.keys
        if keys == self.keys:
            return False
        self.keys, self._fernet = keys, MultiFernet([Fernet(key) for key in keys])
        return True

    def rotate(self, token: str, what: str = "a stored secret") -> str:
        """The same secret encrypted under the first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise self._undecryptable(what) from None

    def _undecryptable(self, what: str) -> SecretUndecryptable:
        return SecretUndecryptable(
            f"{what} cannot be decrypted with the keys of {self.source.origin}: the key it was encrypted "
            "under is not among them",
            details={"keys": len(self.keys)},
        )

    def with_first(self, key: str) -> SecretBox:
        """A box whose new first key is `key`, the others kept to decrypt; written to the key file first when
        the keys come from one (so a failure later loses nothing: the file still holds every key)."""
        keys = [*parse_keys(key, "the new key"), *(k for k in self.keys if k != key)]
        if self.source.key_file is not None:
            write_private(self.source.key_file, "".join(f"{k}\n" for k in keys))
        return SecretBox(keys, self.source)


def _create_key_file(path: Path, key: str) -> None:
    """Written whole under another name, then linked into place: of processes starting together, one makes the
    file and every one reads that same complete file."""
    draft = path.with_name(f".{path.name}.{uuid.uuid4().hex}.new")
    write_private(draft, f"{key}\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        pass  # another process made it first: its key is the one
    finally:
        draft.unlink()


def _read_key_file(path: Path) -> list[str]:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InvalidSecretKeys(
            f"{path} may be read by other users (mode {mode:o}): make it private with `chmod 600 {path}`",
            details={"mode": f"{mode:o}"},
        )
    return parse_keys(path.read_text(), str(path))


def masked(value: str) -> str:
    """What may be shown of a secret: its first three and last four characters when long enough."""
    if len(value) < 16:
        return "…" if len(value) < 8 else f"…{value[-2:]}"
    return f"{value[:3]}…{value[-4:]}"


def check_name(name: str) -> SecretName:
    if name not in SECRET_NAMES:
        raise NotFound(f"no secret {name!r}: known are {', '.join(SECRET_NAMES)}", details={"name": name})
    return name


class TenantSecrets:
    """A tenant's secrets, set, listed and removed through the API and read back only by Lore itself."""

    def __init__(self, records: SecretRecords, box: SecretBox) -> None:
        self.records = records
        self.box = box

    def set(self, tenant_id: str, name: str, value: str) -> SecretRecord:
        check_name(name)
        if not value.strip() or len(value) > MAX_SECRET_CHARS or "\x00" in value:
            raise InvalidInput(
                f"a secret is 1 to {MAX_SECRET_CHARS} characters, not only spaces and no NUL",
                details={"name": name},
            )
        return self.records.put(tenant_id, name, self.box.encrypt(value), masked(value))

    def list(self, tenant_id: str) -> list[SecretRecord]:
        return self.records.list(tenant_id)

    def delete(self, tenant_id: str, name: str) -> None:
        if not self.records.delete(tenant_id, check_name(name)):
            raise NotFound(f"secret {name!r} is not set", details={"name": name})

    def read(self, tenant_id: str, name: str) -> str | None:
        """A secret in the clear (the tenant's single sign-on client secret), or None when it is not set."""
        record = self.records.get(tenant_id, name)
        return self.reveal(record) if record is not None else None

    def reveal(self, record: SecretRecord) -> str:
        """The secret in the clear, for Lore's own use (a provider's request); never for a response."""
        return self.box.decrypt(record.ciphertext, f"secret {record.name} of tenant {record.tenant_id!r}")


def rotate(records: SecretRecords, box: SecretBox) -> Counter[str]:
    """Re-encrypt every stored secret (tenants' secrets, users' TOTP secrets) under the box's first key, in one
    transaction; how many per tenant."""
    return records.reencrypt(box.rotate)
