"""`TenantRecords`, the database's `tenants` repository: the teams one installation serves, and their policy.

The default tenant always exists: its row is made when it is first needed (a collection's first write, a key,
a user), so a new installation's store stays empty until something is stored, as a restore requires. Every
other tenant is created by the operator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lore.backends.store.key_stamp import KeyStamp
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import tenants
from lore.errors import Conflict, NotFound
from lore.models import DEFAULT_TENANT, utcnow


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str | None
    created_at: datetime
    disabled_at: datetime | None
    settings: dict[str, Any]

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


def _tenant(row: AnyRow) -> Tenant:
    return Tenant(row.id, row.name, row.created_at, row.disabled_at, dict(row.settings or {}))


class TenantRecords:
    """Create, read, disable and re-enable tenants, and replace a tenant's policy settings. Disabling and
    re-enabling bump `stamp`, since they decide whether the tenant's keys work."""

    def __init__(self, engine: sa.Engine, stamp: KeyStamp) -> None:
        self.engine = engine
        self.stamp = stamp

    def create(self, tenant_id: str, name: str | None = None) -> Tenant:
        row: dict[str, Any] = {"id": tenant_id, "name": name, "created_at": utcnow(), "settings": {}}
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(tenants).values(row))
        except sa.exc.IntegrityError:
            raise Conflict(f"tenant {tenant_id!r} already exists", details={"tenant": tenant_id}) from None
        found = self.get(tenant_id)
        assert found is not None
        return found

    def ensure_default(self) -> Tenant:
        if (found := self.get(DEFAULT_TENANT)) is not None:
            return found
        try:
            return self.create(DEFAULT_TENANT)
        except Conflict:  # made by a concurrent writer
            found = self.get(DEFAULT_TENANT)
            assert found is not None
            return found

    def get(self, tenant_id: str) -> Tenant | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tenants).where(tenants.c.id == tenant_id)).first()
        return _tenant(row) if row is not None else None

    def require(self, tenant_id: str) -> Tenant:
        if tenant_id == DEFAULT_TENANT:
            return self.ensure_default()
        if (found := self.get(tenant_id)) is None:
            raise NotFound(f"no tenant {tenant_id!r}", details={"tenant": tenant_id})
        return found

    def list(self) -> list[Tenant]:
        with self.engine.connect() as conn:
            return [_tenant(row) for row in conn.execute(sa.select(tenants).order_by(tenants.c.id))]

    def set_disabled(self, tenant_id: str, disabled: bool) -> Tenant:
        self.require(tenant_id)
        self._update(tenant_id, disabled_at=utcnow() if disabled else None)
        self.stamp.bump()
        return self.require(tenant_id)

    def set_settings(self, tenant_id: str, settings: dict[str, Any]) -> Tenant:
        self.require(tenant_id)
        self._update(tenant_id, settings=dict(settings))
        return self.require(tenant_id)

    def _update(self, tenant_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            updated = conn.execute(sa.update(tenants).where(tenants.c.id == tenant_id).values(**values))
        if updated.rowcount == 0:
            raise NotFound(f"no tenant {tenant_id!r}", details={"tenant": tenant_id})
