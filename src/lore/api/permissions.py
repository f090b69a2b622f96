"""The one table of what every route needs: a scope, USER (any signed-in user, no key), AUTHENTICATED (any secret
key or signed-in user; the route's operations check their own scopes: the MCP endpoint's tools), or PUBLIC. `create_app` refuses to start when a route has
no row (so a new route cannot ship unguarded), and docs/security.md's matrix is printed from this table.

A row's scope is checked against the caller's scopes before the handler runs; what the handler then reads or
writes is scoped further by the caller's tenant, collections and document permissions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from lore.security.scopes import PUBLISHABLE_SCOPES, ROLE_SCOPES, Scope

PUBLIC: Final = "public"
USER: Final = "user"  # any signed-in user, whatever its role: its own account, password and MFA
AUTHENTICATED: Final = "authenticated"  # any secret key or signed-in user; each operation checks its scope
Requirement = Scope | str

ROUTE_SCOPES: dict[str, Requirement] = {
    "GET /healthz": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "GET /redoc": PUBLIC,
    "GET /readyz": PUBLIC,
    "GET /metrics": Scope.METRICS,
    "GET /v1/metrics/history": Scope.ADMIN,
    "POST /v1/search": Scope.SEARCH,
    "POST /v1/documents": Scope.DOCUMENTS_WRITE,
    "GET /v1/documents": Scope.DOCUMENTS_READ,
    "GET /v1/documents/{document_id}": Scope.DOCUMENTS_READ,
    "DELETE /v1/documents/{document_id}": Scope.DOCUMENTS_WRITE,
    "GET /v1/documents/{document_id}/access": Scope.DOCUMENTS_READ,
    "PUT /v1/documents/{document_id}/access": Scope.DOCUMENTS_WRITE,
    "GET /v1/documents/{document_id}/related": Scope.SEARCH,
    "GET /v1/collections": Scope.DOCUMENTS_READ,
    "GET /v1/collections/{name}": Scope.DOCUMENTS_READ,
    "DELETE /v1/collections/{name}": Scope.ADMIN,  # every document in it, those the caller may not read too
    "GET /v1/recommendations": Scope.SEARCH,
    "GET /v1/recommendations/model": Scope.ADMIN,
    "POST /v1/conversations": Scope.ASK,
    "GET /v1/conversations": Scope.ASK,
    "GET /v1/conversations/{conversation_id}": Scope.ASK,
    "PATCH /v1/conversations/{conversation_id}": Scope.ASK,
    "DELETE /v1/conversations/{conversation_id}": Scope.ASK,
    "GET /v1/conversations/{conversation_id}/messages": Scope.ASK,
    "POST /v1/conversations/{conversation_id}/messages": Scope.ASK,
    "POST /v1/conversations/{conversation_id}/messages/{message_id}/feedback": Scope.EVENTS,
    "GET /v1/models": Scope.ASK,
    "GET /v1/models/{model_id}": Scope.ASK,
    "POST /v1/chat/completions": Scope.ASK,
    "POST /v1/ingest": Scope.DOCUMENTS_WRITE,
    "GET /v1/jobs": Scope.DOCUMENTS_WRITE,
    "GET /v1/jobs/{job_id}": Scope.DOCUMENTS_WRITE,
    "POST /v1/jobs/{job_id}/retry": Scope.DOCUMENTS_WRITE,
    "POST /v1/admin/backups": Scope.INSTALLATION,
    "GET /v1/admin/backups": Scope.INSTALLATION,
    "GET /v1/admin/backups/{name}": Scope.INSTALLATION,
    "DELETE /v1/admin/backups/{name}": Scope.INSTALLATION,
    "GET /v1/usage": Scope.ADMIN,
    "GET /v1/groups": Scope.ADMIN,
    "POST /v1/groups": Scope.ADMIN,
    "GET /v1/groups/{name}": Scope.ADMIN,
    "DELETE /v1/groups/{name}": Scope.ADMIN,
    "PUT /v1/groups/{name}/members/{user_id}": Scope.ADMIN,
    "DELETE /v1/groups/{name}/members/{user_id}": Scope.ADMIN,
    "GET /v1/access/explain": Scope.ADMIN,
    "GET /v1/end-users/{end_user}/export": Scope.ADMIN,
    "DELETE /v1/end-users/{end_user}": Scope.ADMIN,
    "GET /v1/keys": Scope.ADMIN,
    "POST /v1/keys": Scope.ADMIN,
    "GET /v1/keys/{key_id}": Scope.ADMIN,
    "DELETE /v1/keys/{key_id}": Scope.ADMIN,
    "POST /v1/keys/{key_id}/rotate": Scope.ADMIN,
    "GET /v1/tenants": Scope.INSTALLATION,
    "POST /v1/tenants": Scope.INSTALLATION,
    "GET /v1/tenants/{tenant_id}": Scope.INSTALLATION,
    "PATCH /v1/tenants/{tenant_id}": Scope.INSTALLATION,
    "POST /v1/auth/login": PUBLIC,
    "POST /v1/auth/login/mfa": PUBLIC,
    "POST /v1/auth/refresh": PUBLIC,
    "POST /v1/auth/logout": PUBLIC,
    "POST /v1/auth/session": PUBLIC,
    "POST /v1/auth/session/mfa": PUBLIC,
    "DELETE /v1/auth/session": PUBLIC,  # checks the session's CSRF token itself
    "GET /v1/auth/oidc/{tenant}/start": PUBLIC,
    "GET /v1/auth/oidc/{tenant}/callback": PUBLIC,
    "POST /v1/auth/mfa/enrol": USER,
    "POST /v1/auth/mfa/verify": USER,
    "POST /v1/auth/mfa/recovery-codes": USER,
    "GET /v1/users": Scope.ADMIN,
    "POST /v1/users": Scope.ADMIN,
    "GET /v1/users/{user_id}": Scope.ADMIN,
    "PATCH /v1/users/{user_id}": Scope.ADMIN,  # admins and owners: the owner scope (checked by Accounts)
    "POST /v1/users/{user_id}/password": Scope.ADMIN,
    "DELETE /v1/users/{user_id}/mfa": Scope.ADMIN,
    "GET /v1/me": USER,
    "POST /v1/me/password": USER,
    "GET /v1/audit": Scope.ADMIN,
    "GET /v1/audit/export": Scope.ADMIN,
    "GET /v1/secrets": Scope.OWNER,
    "PUT /v1/secrets/{name}": Scope.OWNER,
    "DELETE /v1/secrets/{name}": Scope.OWNER,
    "GET /v1/tenant/settings": Scope.OWNER,
    "PATCH /v1/tenant/settings": Scope.OWNER,
    "POST /v1/events": Scope.EVENTS,
    "GET /v1/events/export": Scope.ADMIN,
    "GET /v1/analytics/search": Scope.ADMIN,
    "GET /v1/analytics/gaps": Scope.ADMIN,
    "POST /v1/analytics/gaps/promote": Scope.DOCUMENTS_WRITE,  # an answer the caller may see
    "GET /v1/adapters": Scope.ADMIN,
    "GET /v1/adapters/{collection}": Scope.ADMIN,
    "POST /v1/adapters/{collection}/train": Scope.ADMIN,
    "POST /v1/adapters/{collection}/activate": Scope.ADMIN,
    "POST /v1/adapters/{collection}/rollback": Scope.ADMIN,
    "POST /v1/classify": Scope.CLASSIFY,
    "GET /v1/intents/models": Scope.ADMIN,
    "GET /v1/intents/models/{model_id}": Scope.ADMIN,
    "POST /v1/intents/models/{model_id}/activate": Scope.ADMIN,
    "POST /v1/intents/models/{model_id}/shadow": Scope.ADMIN,
    "POST /v1/intents/models/{model_id}/share": Scope.ADMIN,
    "POST /v1/intents/rollback": Scope.ADMIN,
    "GET /v1/intents/compare": Scope.ADMIN,
    "POST /v1/intents/train": Scope.ADMIN,
    "GET /v1/intents/routes": Scope.ADMIN,
    "PUT /v1/intents/routes/{intent}": Scope.ADMIN,
    "DELETE /v1/intents/routes/{intent}": Scope.ADMIN,
    "POST /mcp": AUTHENTICATED,  # each MCP tool needs the scope of its REST route (lore.mcp.tools)
    "POST /v1/webhooks": Scope.ADMIN,
    "GET /v1/webhooks": Scope.ADMIN,
    "GET /v1/webhooks/{webhook_id}": Scope.ADMIN,
    "PATCH /v1/webhooks/{webhook_id}": Scope.ADMIN,
    "DELETE /v1/webhooks/{webhook_id}": Scope.ADMIN,
    "POST /v1/webhooks/{webhook_id}/rotate": Scope.ADMIN,
    "GET /v1/webhooks/{webhook_id}/deliveries": Scope.ADMIN,
    "POST /v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay": Scope.ADMIN,
    "POST /v1/sources": Scope.DOCUMENTS_WRITE,  # folder and archive kinds: also the installation scope
    "GET /v1/sources": Scope.DOCUMENTS_WRITE,
    "GET /v1/sources/{source_id}": Scope.DOCUMENTS_WRITE,
    "DELETE /v1/sources/{source_id}": Scope.DOCUMENTS_WRITE,
    "POST /v1/sources/{source_id}/sync": Scope.DOCUMENTS_WRITE,
    # The web UI's pages (lore.ui): each needs what the API routes it calls need.
    "GET /": PUBLIC,
    "GET /widget.js": PUBLIC,  # the embeddable help widget (docs/widget.md): static files for any origin
    "GET /widget.css": PUBLIC,
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "POST /login/mfa": PUBLIC,
    "POST /logout": PUBLIC,  # the API's session handler checks the CSRF token
    "GET /account": USER,
    "POST /account/password": USER,
    "POST /account/mfa/enrol": USER,
    "POST /account/mfa/verify": USER,
    "POST /account/mfa/recovery-codes": USER,
    "GET /search": Scope.SEARCH,
    "GET /documents": Scope.DOCUMENTS_READ,
    "POST /documents": Scope.DOCUMENTS_WRITE,
    "GET /documents/{document_id}": Scope.DOCUMENTS_READ,
    "DELETE /documents/{document_id}": Scope.DOCUMENTS_WRITE,
    "PUT /documents/{document_id}/access": Scope.DOCUMENTS_WRITE,
    "GET /jobs": Scope.DOCUMENTS_WRITE,
    "GET /jobs/stream": Scope.DOCUMENTS_WRITE,
    "POST /jobs/{job_id}/retry": Scope.DOCUMENTS_WRITE,
    "GET /gaps": Scope.ADMIN,
    "POST /gaps/promote": Scope.DOCUMENTS_WRITE,
    "GET /recommendations": Scope.SEARCH,  # another user's, and the model's state, for admins only
    "GET /health": Scope.ADMIN,
    "GET /keys": Scope.ADMIN,
    "POST /keys": Scope.ADMIN,
    "DELETE /keys/{key_id}": Scope.ADMIN,
    "POST /keys/{key_id}/rotate": Scope.ADMIN,
    "GET /usage": Scope.ADMIN,
    "GET /audit": Scope.ADMIN,
    "GET /audit/export": Scope.ADMIN,
    "GET /users": Scope.ADMIN,
    "POST /users": Scope.ADMIN,
    "PATCH /users/{user_id}": Scope.ADMIN,  # admins and owners: the owner scope (checked by Accounts)
    "POST /users/{user_id}/password": Scope.ADMIN,
    "DELETE /users/{user_id}/mfa": Scope.ADMIN,
    "GET /webhooks": Scope.ADMIN,
    "POST /webhooks": Scope.ADMIN,
    "GET /webhooks/{webhook_id}": Scope.ADMIN,
    "PATCH /webhooks/{webhook_id}": Scope.ADMIN,
    "DELETE /webhooks/{webhook_id}": Scope.ADMIN,
    "POST /webhooks/{webhook_id}/rotate": Scope.ADMIN,
    "POST /webhooks/{webhook_id}/deliveries/{delivery_id}/replay": Scope.ADMIN,
    "POST /groups": Scope.ADMIN,
    "DELETE /groups/{name}": Scope.ADMIN,
    "POST /groups/{name}/members": Scope.ADMIN,
    "DELETE /groups/{name}/members/{user_id}": Scope.ADMIN,
    "POST /feedback": Scope.EVENTS,
    "GET /chat": Scope.ASK,
    "POST /chat": Scope.ASK,
    "GET /chat/{conversation_id}": Scope.ASK,
    "PATCH /chat/{conversation_id}": Scope.ASK,
    "DELETE /chat/{conversation_id}": Scope.ASK,
    "POST /chat/{conversation_id}/questions": Scope.ASK,
    "GET /chat/{conversation_id}/answers/{token}": Scope.ASK,
    "POST /chat/{conversation_id}/messages/{message_id}/feedback": Scope.EVENTS,
}


def route_key(method: str, path: str) -> str:
    return f"{method.upper()} {path}"


def unguarded(routes: Iterable[tuple[str, str]]) -> list[str]:
    """The (method, path) routes with no row in the table."""
    return sorted(key for key in (route_key(m, p) for m, p in routes) if key not in ROUTE_SCOPES)


def roles_allowed(requirement: Requirement) -> list[str]:
    """The roles whose users pass a requirement (every role for a public or any-user route)."""
    if requirement in (PUBLIC, USER, AUTHENTICATED):
        return list(ROLE_SCOPES)
    return [role for role, scopes in ROLE_SCOPES.items() if requirement in scopes]


def matrix() -> str:
    """docs/security.md's permission matrix, as Markdown: who passes each route's check."""
    columns = [*ROLE_SCOPES, "publishable"]
    lines = [f"| route | scope | {' | '.join(columns)} |", f"|---|---|{'---|' * len(columns)}"]
    for route, requirement in ROUTE_SCOPES.items():
        allowed = roles_allowed(requirement)
        publishable = requirement == PUBLIC or requirement in PUBLISHABLE_SCOPES
        marks = ["yes" if role in allowed else "-" for role in ROLE_SCOPES] + ["yes" if publishable else "-"]
        lines.append(f"| `{route}` | {requirement} | {' | '.join(marks)} |")
    return "\n".join(lines)
