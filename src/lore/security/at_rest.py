"""Encryption of the small secrets Lore keeps in the store (TOTP secrets, a tenant's single sign-on client
secret): one `Cipher`, built by `cipher_for`.

Today the key is derived from the signing secret (HKDF-SHA256), so no further setting is needed; `cipher_for` and
`tenant_secret_reader` are the places to change when secrets at rest get keys (and a repository) of their own.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Protocol

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lore.backends.store.schema import tenant_secrets
from lore.errors import Unavailable


class Cipher(Protocol):
    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, ciphertext: str) -> str: ...


class FernetCipher:
    """Fernet (AES-128-CBC with HMAC-SHA256) under one key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise Unavailable("a stored secret cannot be decrypted with the configured key") from None


def cipher_for(signing_secret: str) -> Cipher:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"lore secrets at rest v1")
    key = hkdf.derive(signing_secret.encode())
    return FernetCipher(base64.urlsafe_b64encode(key))


def tenant_secret_reader(engine: sa.Engine, cipher: Cipher) -> Callable[[str, str], str | None]:
    """(tenant, name) -> a tenant secret's plaintext (e.g. `oidc_client_secret`), or None when it has none."""

    def read(tenant_id: str, name: str) -> str | None:
        query = sa.select(tenant_secrets.c.ciphertext).where(
            tenant_secrets.c.tenant_id == tenant_id, tenant_secrets.c.name == name
        )
        with engine.connect() as conn:
            sealed = conn.execute(query).scalar()
        return cipher.decrypt(sealed) if sealed is not None else None

    return read
