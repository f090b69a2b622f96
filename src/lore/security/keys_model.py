"""`ApiKey`: a stored key's record (never the key itself), and the states it goes through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from lore.security.scopes import Scope

KeyKind = Literal["secret", "publishable"]
KeyState = Literal["active", "rotating", "expired", "revoked"]


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str  # the public prefix: shown in lists and logs, and how a presented key is found
    tenant_id: str
    kind: KeyKind
    name: str
    secret_hash: str
    scopes: frozenset[Scope]
    collections: frozenset[str] | None
    groups: frozenset[str]
    allowed_origins: tuple[str, ...] | None
    rate_limit: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    replaced_by: str | None = None
    rotating_until: datetime | None = None

    def state(self, now: datetime) -> KeyState:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        if self.rotating_until is not None:
            return "rotating" if now < self.rotating_until else "expired"
        return "active"

    def usable(self, now: datetime) -> bool:
        return self.state(now) in ("active", "rotating")

    def summary(self) -> dict[str, object]:
        """What the audit log says of a key: what it may do, never its secret or hash."""
        return {
            "name": self.name,
            "kind": self.kind,
            "scopes": sorted(self.scopes),
            "collections": sorted(self.collections) if self.collections is not None else None,
            "expires_at": self.expires_at,
        }
