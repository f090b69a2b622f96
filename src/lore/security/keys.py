"""API keys: minted, shown once, stored as a hash, identified by a public prefix, revoked and rotated.

    lore_sk_3k9x2m7q1z8c_Qm9yZS1zZWNyZXQtb2YtNDMtY2hhcnM...   a secret key
    lore_pk_...                                              a publishable key (search and ask in named
                                                             collections, safe to embed in a public page)

The secret part holds 256 random bits, so one SHA-256 is the right hash (a password hash would only slow every
request). A rotated key keeps working until its overlap window closes, and is reported as "rotating" meanwhile.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import limits

from lore.backends.store.api_keys import ApiKeyRecords
from lore.backends.store.tenant_records import TenantRecords
from lore.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from lore.models import utcnow
from lore.names import check_name
from lore.security.key_cache import FoundKey, KeyCache
from lore.security.keys_model import ApiKey, KeyKind
from lore.security.principal import Principal
from lore.security.scopes import PUBLISHABLE_SCOPES, Scope

PREFIXES: dict[KeyKind, str] = {"secret": "lore_sk_", "publishable": "lore_pk_"}
ID_LENGTH = 12
_ID_ALPHABET = string.ascii_lowercase + string.digits
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is kept to the minute: no write on every request


def looks_like_key(token: str) -> bool:
    return token.startswith(tuple(PREFIXES.values()))


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _mint(kind: KeyKind) -> tuple[str, str]:
    key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
    return key_id, f"{PREFIXES[kind]}{key_id}_{secrets.token_urlsafe(32)}"


def _key_id(token: str) -> str | None:
    for prefix in PREFIXES.values():
        if token.startswith(prefix):
            rest = token[len(prefix) :]
            if len(rest) > ID_LENGTH and rest[ID_LENGTH] == "_":
                return rest[:ID_LENGTH]
    return None


@dataclass(frozen=True, slots=True)
class KeySpec:
    """What a new key may do: its scopes, and optionally collections, groups, origins, rate limit and expiry."""

    name: str
    scopes: frozenset[Scope]
    kind: KeyKind = "secret"
    collections: frozenset[str] | None = None
    groups: frozenset[str] = frozenset()
    allowed_origins: tuple[str, ...] | None = None
    rate_limit: str | None = None
    expires_at: datetime | None = None

    def checked(self) -> KeySpec:
        if not self.name.strip() or len(self.name) > 200:
            raise InvalidInput("a key's name must be 1 to 200 characters", details={"field": "name"})
        if not self.scopes:
            raise InvalidInput("a key needs at least one scope", details={"field": "scopes"})
        for collection in self.collections or ():
            check_name("collection", collection)
        if self.rate_limit is not None:
            _check_rate_limit(self.rate_limit)
        if self.expires_at is not None and self.expires_at <= utcnow():
            raise InvalidInput("expires_at is in the past", details={"field": "expires_at"})
        if self.kind == "publishable":
            self._check_publishable()
        return self

    def _check_publishable(self) -> None:
        extra = sorted(self.scopes - PUBLISHABLE_SCOPES)
        if extra:
            raise InvalidInput(
                "a publishable key may only search, ask and send events",
                details={"field": "scopes", "not_allowed": extra, "allowed": sorted(PUBLISHABLE_SCOPES)},
            )
        if not self.collections:
            raise InvalidInput(
                "a publishable key must name the collections it serves", details={"field": "collections"}
            )


def _check_rate_limit(expression: str) -> None:
    try:
        limits.parse_many(expression)
    except ValueError:
        raise InvalidInput(
            f"rate_limit {expression!r} is not a rate such as '120/minute'", details={"field": "rate_limit"}
        ) from None


def _usable_key(token: str, found: FoundKey | None) -> ApiKey:
    if found is None or not hmac.compare_digest(found[0].secret_hash, hash_key(token)):
        raise Unauthenticated("the API key is not valid")
    key, tenant_disabled_at = found
    if tenant_disabled_at is not None:
        raise Unauthenticated("the key's tenant is disabled", details={"key_id": key.id})
    state = key.state(utcnow())
    if state not in ("active", "rotating"):
        raise Unauthenticated(f"the API key is {state}", details={"key_id": key.id, "state": state})
    return key


def _needs_touch(key: ApiKey, now: datetime) -> bool:
    return key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY


def _principal(key: ApiKey, origin: str | None, end_user: str | None) -> Principal:
    if key.kind == "publishable" and key.allowed_origins is not None and origin not in key.allowed_origins:
        raise Forbidden(
            "this publishable key is not allowed from this origin",
            details={"origin": origin, "key_id": key.id},
        )
    return Principal(
        tenant_id=key.tenant_id,
        kind="publishable" if key.kind == "publishable" else "key",
        id=key.id,
        scopes=key.scopes,
        groups=key.groups,
        collections=key.collections,
        end_user=end_user,
        rate_limit=key.rate_limit,
    )


class KeyRing:
    """Creates keys and turns a presented key into the `Principal` it stands for. With `cache_seconds`, the
    keys it finds are kept in memory (`KeyCache`), so that most checks read no store."""

    def __init__(self, records: ApiKeyRecords, tenants: TenantRecords, *, cache_seconds: float = 0.0) -> None:
        self.records = records
        self.tenants = tenants
        self._cache = KeyCache(records.stamp, cache_seconds) if cache_seconds > 0 else None

    def create(self, tenant_id: str, spec: KeySpec, *, created_by: str) -> tuple[ApiKey, str]:
        """The stored key and the key itself, which is never available again."""
        spec = spec.checked()
        self.tenants.require(tenant_id)
        key_id, token = _mint(spec.kind)
        key = ApiKey(
            id=key_id,
            tenant_id=tenant_id,
            kind=spec.kind,
            name=spec.name,
            secret_hash=hash_key(token),
            scopes=spec.scopes,
            collections=spec.collections,
            groups=spec.groups,
            allowed_origins=spec.allowed_origins,
            rate_limit=spec.rate_limit,
            created_by=created_by,
            created_at=utcnow(),
            expires_at=spec.expires_at,
        )
        self.records.insert(key)
        return key, token

    def authenticate(
        self, token: str, *, origin: str | None = None, end_user: str | None = None
    ) -> Principal:
        """The key's principal, or Unauthenticated / Forbidden; may read the store and record the key's use."""
        key = _usable_key(token, self._find(token))
        principal = _principal(key, origin, end_user)
        now = utcnow()
        if _needs_touch(key, now):
            self.records.touch(key.id, now)
            if self._cache is not None:
                self._cache.touched(key.id, now)
        return principal

    def authenticate_cached(
        self, token: str, *, origin: str | None = None, end_user: str | None = None
    ) -> Principal | None:
        """`authenticate` from the cache alone (no store read, so no worker thread is needed); None when the
        store must be read or the key's use recorded: then call `authenticate`."""
        key_id = _key_id(token)
        found = self._cache.get(key_id) if self._cache is not None and key_id is not None else None
        if found is None:
            return None
        key = _usable_key(token, found)
        if _needs_touch(key, utcnow()):
            return None
        return _principal(key, origin, end_user)

    def _find(self, token: str) -> FoundKey | None:
        key_id = _key_id(token)
        if key_id is None:
            return None
        if self._cache is None:
            return self.records.find(key_id)
        return self._cache.read(key_id, self.records.find)

    def list(self, tenant_id: str) -> list[ApiKey]:
        return self.records.list_keys(tenant_id)

    def get(self, tenant_id: str, key_id: str) -> ApiKey:
        if (key := self.records.get(tenant_id, key_id)) is None:
            raise NotFound(f"no API key {key_id!r}", details={"key_id": key_id})
        return key

    def revoke(self, tenant_id: str, key_id: str) -> ApiKey:
        key = self.get(tenant_id, key_id)
        self.records.revoke(tenant_id, key_id)
        return replace(key, revoked_at=key.revoked_at or utcnow())

    def rotate(self, tenant_id: str, key_id: str, overlap: timedelta, *, by: str) -> tuple[ApiKey, str]:
        """A new key with the old one's permissions; the old one keeps working for `overlap`."""
        old = self.get(tenant_id, key_id)
        if not old.usable(utcnow()) or old.replaced_by is not None:
            raise InvalidInput(
                "only an active key can be rotated", details={"key_id": key_id, "state": old.state(utcnow())}
            )
        spec = KeySpec(
            name=old.name,
            scopes=old.scopes,
            kind=old.kind,
            collections=old.collections,
            groups=old.groups,
            allowed_origins=old.allowed_origins,
            rate_limit=old.rate_limit,
            expires_at=old.expires_at,
        )
        new, token = self.create(tenant_id, spec, created_by=by)
        self.records.mark_rotating(tenant_id, key_id, new.id, utcnow() + overlap)
        return new, token
