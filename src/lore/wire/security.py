"""Wire models of API keys and tenants: what the HTTP API accepts and returns, and what the CLI's `--json`
prints. A key's secret appears once, in `KeyCreated.key`, and nowhere else."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lore.backends.store.tenant_records import Tenant
from lore.models import utcnow
from lore.security.keys import KeySpec
from lore.security.keys_model import ApiKey, KeyKind, KeyState
from lore.security.scopes import Scope

Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Origin = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=r"^https?://[^/\s]+$")]
MAX_OVERLAP_HOURS = 24 * 30


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(Scope))]
    kind: KeyKind = "secret"
    collections: Annotated[list[Name], Field(max_length=50)] | None = None
    groups: Annotated[list[Name], Field(max_length=50)] = []
    allowed_origins: Annotated[list[Origin], Field(max_length=20)] | None = None
    rate_limit: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        None, description="A rate such as `120/minute` (also `10/second;1000/hour`)."
    )
    expires_at: datetime | None = None

    def spec(self) -> KeySpec:
        return KeySpec(
            name=self.name,
            scopes=frozenset(self.scopes),
            kind=self.kind,
            collections=frozenset(self.collections) if self.collections is not None else None,
            groups=frozenset(self.groups),
            allowed_origins=tuple(self.allowed_origins) if self.allowed_origins is not None else None,
            rate_limit=self.rate_limit,
            expires_at=self.expires_at,
        )


class KeyRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_hours: float = Field(
        24.0, ge=0, le=MAX_OVERLAP_HOURS, description="How long the old key keeps working."
    )

    @property
    def overlap(self) -> timedelta:
        return timedelta(hours=self.overlap_hours)


class KeyOut(BaseModel):
    """A stored key: its public id and permissions, never its secret or hash."""

    id: str
    kind: KeyKind
    name: str
    state: KeyState
    scopes: list[str]
    collections: list[str] | None
    groups: list[str]
    allowed_origins: list[str] | None
    rate_limit: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    replaced_by: str | None
    rotating_until: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        fields: dict[str, Any] = {
            "id": key.id,
            "kind": key.kind,
            "name": key.name,
            "state": key.state(utcnow()),
            "scopes": sorted(key.scopes),
            "collections": sorted(key.collections) if key.collections is not None else None,
            "groups": sorted(key.groups),
            "allowed_origins": list(key.allowed_origins) if key.allowed_origins is not None else None,
        }
        copied = ("rate_limit", "created_by", "created_at", "expires_at", "last_used_at", "replaced_by")
        fields.update({name: getattr(key, name) for name in copied})
        return cls(**fields, rotating_until=key.rotating_until)


class KeyCreated(KeyOut):
    key: str = Field(description="The key itself. It is shown this once: store it now.")

    @classmethod
    def with_secret(cls, key: ApiKey, secret: str) -> KeyCreated:
        return cls(**KeyOut.of(key).model_dump(), key=secret)


class KeyList(BaseModel):
    items: list[KeyOut]


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    name: Annotated[str, StringConstraints(max_length=200)] | None = None


class TenantPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disabled: bool


class TenantOut(BaseModel):
    id: str
    name: str | None
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(
            id=tenant.id, name=tenant.name, created_at=tenant.created_at, disabled_at=tenant.disabled_at
        )


class TenantList(BaseModel):
    items: list[TenantOut]
