"""`Principal`: the identity a request proved, with everything authorisation needs, resolved once per request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lore.security.scopes import Scope

PrincipalKind = Literal["user", "key", "publishable", "operator"]


@dataclass(frozen=True, slots=True)
class Principal:
    """A user (by token or session), a secret or publishable API key, or the operator on the machine (the CLI).

    `groups` name the tenant's groups whose restricted documents it may read; `collections` (None: all) limit a
    key to some collections; `end_user` is the opaque id a page embedding a publishable key supplies;
    `rate_limit` is a key's own limit (a `limits` expression; None: its tenant's default for keys)."""

    tenant_id: str
    kind: PrincipalKind
    id: str
    scopes: frozenset[Scope]
    role: str | None = None
    groups: frozenset[str] = field(default_factory=frozenset)
    collections: frozenset[str] | None = None
    end_user: str | None = None
    rate_limit: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log and owner columns name it: "user:<id>", "key:<id>" or "operator"."""
        if self.kind == "operator":
            return "operator"
        return f"{'user' if self.kind == 'user' else 'key'}:{self.id}"

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes

    @property
    def reads_everything(self) -> bool:
        """Admins (and the operator) read every document of their tenant, restricted ones included."""
        return self.kind == "operator" or Scope.ADMIN in self.scopes

    @property
    def readers(self) -> frozenset[str]:
        """The `document_access` principals that grant it a restricted document: itself and its groups."""
        own = f"user:{self.id}" if self.kind == "user" else f"key:{self.id}"
        return frozenset({own, *(f"group:{group}" for group in self.groups)})

    def can_use_collection(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections


def operator(tenant_id: str) -> Principal:
    """The operator acting on the machine through the CLI: every scope in the tenant."""
    return Principal(tenant_id=tenant_id, kind="operator", id="operator", scopes=frozenset(Scope))
