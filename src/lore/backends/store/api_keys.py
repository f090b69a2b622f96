"""`ApiKeyRecords`, the database's `api_keys` repository. Only a key's hash is stored; its id is the public
prefix of the key itself, so finding a presented key is one primary-key read (joined with its tenant, whose
disabling must stop the key at once)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lore.backends.store.key_stamp import KeyStamp
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import api_keys, tenants
from lore.models import utcnow
from lore.security.keys_model import ApiKey, KeyKind
from lore.security.scopes import Scope

# Every authenticated request runs it: built once, its cache key and compiled form are reused.
_FIND = (
    sa.select(api_keys, tenants.c.disabled_at.label("tenant_disabled_at"))
    .join(tenants, tenants.c.id == api_keys.c.tenant_id)
    .where(api_keys.c.id == sa.bindparam("key_id"))
)


def _key(row: AnyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=row.kind,
        name=row.name,
        secret_hash=row.secret_hash,
        scopes=frozenset(Scope(name) for name in row.scopes),
        collections=frozenset(row.collections) if row.collections is not None else None,
        groups=frozenset(row.groups),
        allowed_origins=tuple(row.allowed_origins) if row.allowed_origins is not None else None,
        rate_limit=row.rate_limit,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        replaced_by=row.replaced_by,
        rotating_until=row.rotating_until,
    )


class ApiKeyRecords:
    """Insert, find, list, revoke and mark keys as rotating. Revoking and rotating bump `stamp`: a process that
    keeps found keys in memory (`KeyRing`) hears of it."""

    def __init__(self, engine: sa.Engine, stamp: KeyStamp) -> None:
        self.engine = engine
        self.stamp = stamp

    def insert(self, key: ApiKey) -> None:
        row: dict[str, Any] = {
            "id": key.id,
            "tenant_id": key.tenant_id,
            "kind": key.kind,
            "name": key.name,
            "secret_hash": key.secret_hash,
            "scopes": sorted(key.scopes),
            "collections": sorted(key.collections) if key.collections is not None else None,
            "groups": sorted(key.groups),
            "allowed_origins": list(key.allowed_origins) if key.allowed_origins is not None else None,
            "rate_limit": key.rate_limit,
            "created_by": key.created_by,
            "created_at": key.created_at,
            "expires_at": key.expires_at,
        }
        with self.engine.begin() as conn:
            conn.execute(sa.insert(api_keys).values(row))

    def find(self, key_id: str) -> tuple[ApiKey, datetime | None] | None:
        """The key and its tenant's `disabled_at`, whatever the key's own state."""
        with self.engine.connect() as conn:
            row = conn.execute(_FIND, {"key_id": key_id}).first()
        return (_key(row), row.tenant_disabled_at) if row is not None else None

    def get(self, tenant_id: str, key_id: str) -> ApiKey | None:
        query = sa.select(api_keys).where(api_keys.c.id == key_id, api_keys.c.tenant_id == tenant_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _key(row) if row is not None else None

    def list_keys(self, tenant_id: str, kind: KeyKind | None = None) -> list[ApiKey]:
        query = sa.select(api_keys).where(api_keys.c.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(api_keys.c.kind == kind)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(api_keys.c.created_at.desc(), api_keys.c.id.desc()))
            return [_key(row) for row in rows]

    def expiring(self, until: datetime) -> list[ApiKey]:
        """Usable keys of every tenant that expire between now and `until`: whose owners should hear of it."""
        now = utcnow()
        query = sa.select(api_keys).where(
            api_keys.c.expires_at > now,
            api_keys.c.expires_at <= until,
            api_keys.c.revoked_at.is_(None),
            api_keys.c.replaced_by.is_(None),
        )
        with self.engine.connect() as conn:
            return [_key(row) for row in conn.execute(query.order_by(api_keys.c.expires_at, api_keys.c.id))]

    def revoke(self, tenant_id: str, key_id: str) -> bool:
        return self._update(tenant_id, key_id, api_keys.c.revoked_at.is_(None), revoked_at=utcnow())

    def mark_rotating(self, tenant_id: str, key_id: str, replaced_by: str, until: datetime) -> bool:
        still_usable = sa.and_(api_keys.c.revoked_at.is_(None), api_keys.c.replaced_by.is_(None))
        return self._update(tenant_id, key_id, still_usable, replaced_by=replaced_by, rotating_until=until)

    def touch(self, key_id: str, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=at))

    def _update(self, tenant_id: str, key_id: str, condition: Any, **values: Any) -> bool:
        statement = (
            sa.update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.tenant_id == tenant_id, condition)
            .values(**values)
        )
        with self.engine.begin() as conn:
            changed = conn.execute(statement).rowcount > 0
        if changed:
            self.stamp.bump()
        return changed
