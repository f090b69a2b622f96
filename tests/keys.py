"""API keys for tests: minted straight into a store, as `lore keys create` does."""

from __future__ import annotations

from lore.backends.store.database import Database
from lore.config import Settings
from lore.models import DEFAULT_TENANT
from lore.registry import create_store
from lore.security.keys import KeyRing, KeySpec
from lore.security.scopes import Scope

EVERY_SCOPE = frozenset(Scope)


def mint_key(
    db: Database, tenant: str = DEFAULT_TENANT, scopes: frozenset[Scope] = EVERY_SCOPE, **spec: object
) -> str:
    """A new key of `tenant` (every scope by default: the operator's key)."""
    ring = KeyRing(db.api_keys, db.tenants)
    _, token = ring.create(tenant, KeySpec(name="test", scopes=scopes, **spec), created_by="operator")  # type: ignore[arg-type]
    return token


def operator_key(settings: Settings) -> str:
    """Every scope of the default tenant, minted into the store `settings` name (migrated first)."""
    db = create_store(settings)
    try:
        db.migrate()
        return mint_key(db)
    finally:
        db.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
