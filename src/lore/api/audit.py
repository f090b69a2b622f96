"""How a route audits what its request did: `AuditDep` knows the tenant, the actor, the request id and the
client address, so a handler names only the action, the target and what changed.

    @router.delete("/v1/documents/{document_id}", status_code=204)
    def delete_document(document_id: DocumentId, lore: LoreDep, tenant: TenantDep, audit: AuditDep) -> Response:
        ...
        audit.record("document.deleted", target=document_id, summary={"title": document.title})

The tenant and the actor are the authenticated principal's (`RequestAudit.of` binds a route without one, a
login, to the tenant and actor it knows of, "anonymous" by default); the request id is the one
`lore.api.request_id` gave the request, the same for every record of the request and in its response. `record` writes to the store: async handlers call it in the threadpool.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Request

from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep
from lore.api.request_id import of_scope
from lore.backends.store.audit_records import AuditRecord
from lore.backends.store.tenant_records import TenantRecords
from lore.models import Document
from lore.security.audit import ANONYMOUS, AuditLog


@dataclass(frozen=True, slots=True)
class RequestAudit:
    """The audit log, bound to one request's tenant, actor, request id and client address."""

    log: AuditLog
    tenant_id: str
    actor: str
    request_id: str
    client: str | None

    @classmethod
    def of(cls, request: Request, log: AuditLog, tenant_id: str, actor: str = ANONYMOUS) -> RequestAudit:
        """For a route without a principal (a login): the tenant and actor it knows of."""
        client = request.client.host if request.client is not None else None
        return cls(log, tenant_id, actor, of_scope(request.scope), client)

    def in_tenant(self, tenant_id: str) -> RequestAudit:
        """Bound to another tenant: what an installation operator does to a tenant goes to that tenant's log."""
        return replace(self, tenant_id=tenant_id)

    def record(
        self, action: str, target: str | None = None, summary: dict[str, Any] | None = None
    ) -> AuditRecord:
        return self.log.record(
            self.tenant_id, self.actor, action, target, summary, self.request_id, self.client
        )


async def get_request_audit(request: Request, lore: LoreDep, principal: PrincipalDep) -> RequestAudit:
    return RequestAudit.of(request, AuditLog(lore.store.audit), principal.tenant_id, principal.actor)


AuditDep = Annotated[RequestAudit, Depends(get_request_audit)]


def document_summary(document: Document, **more: object) -> dict[str, object]:
    """What the audit log says of a document: where it is and came from, never its text."""
    return {
        "collection": document.collection,
        "source": document.source,
        "title": document.title,
        "chunks": document.chunk_count,
        "content_hash": document.content_hash,
        **more,
    }


@dataclass(frozen=True, slots=True)
class SignInAudit:
    """The audit log of the sign-in routes, which run before any principal exists: a record goes to the tenant
    the request names, if that tenant exists (an unknown name must not grow a log of its own)."""

    request: Request
    log: AuditLog
    tenants: TenantRecords

    def record(self, tenant_id: str, actor: str, action: str, summary: dict[str, Any] | None = None) -> None:
        if self.tenants.get(tenant_id) is not None:
            RequestAudit.of(self.request, self.log, tenant_id, actor).record(action, actor, summary)


async def get_sign_in_audit(request: Request, lore: LoreDep) -> SignInAudit:
    return SignInAudit(request, AuditLog(lore.store.audit), lore.store.tenants)


SignInAuditDep = Annotated[SignInAudit, Depends(get_sign_in_audit)]
