"""API keys: the tenant's keys, a form that creates one (its secret shown this once, with a copy button), and
revoke and rotate on each. Every change is the API's own handler (`lore.api.routes.keys`), so it is checked,
audited and answered exactly as `POST /v1/keys`, `DELETE /v1/keys/{id}` and `POST /v1/keys/{id}/rotate`."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Any

from fastapi import Form, Path, Request, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import KeysDep, LoreDep
from lore.api.routes import groups as api_groups
from lore.api.routes import keys as api_keys
from lore.security.keys import KeyRing
from lore.security.principal import Principal
from lore.security.scopes import PUBLISHABLE_SCOPES, Scope
from lore.service import Lore
from lore.ui.forms import OptionalDate, lines
from lore.ui.pages.search import collection_names
from lore.ui.rendering import render
from lore.ui.routing import page_router
from lore.wire.security import KeyCreated, KeyIn, KeyRotation

router = page_router()
KeyId = Annotated[str, Path(min_length=1, max_length=64)]
Names = Annotated[list[str], Form(max_length=50)]


def _context(lore: Lore, keys: KeyRing, principal: Principal, **more: Any) -> dict[str, Any]:
    """The keys, and what a new key may be given: the scopes the caller holds (a form offers no more than
    that), the tenant's collections and groups."""
    return {
        "keys": api_keys.list_keys(keys, principal).items,
        "scopes": [scope for scope in Scope if principal.allows(scope)],
        "publishable_scopes": PUBLISHABLE_SCOPES,
        "collections": collection_names(lore, principal),
        "groups": [group.name for group in api_groups.list_groups(lore, principal).items],
        **more,
    }


def _shown(request: Request, context: dict[str, Any], created: KeyCreated, message: str) -> Response:
    """The new key's secret, once, with the list it now heads and a message."""
    return render(request, "keys.html", {**context, "created": created, "flash": message}, block="created")


@router.get("/keys")
def keys_page(request: Request, lore: LoreDep, keys: KeysDep, principal: PrincipalDep) -> Response:
    return render(request, "keys.html", _context(lore, keys, principal))


@router.post("/keys")
def create_key(
    request: Request,
    lore: LoreDep,
    keys: KeysDep,
    principal: PrincipalDep,
    audit: AuditDep,
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=20)] = "secret",
    scopes: Names = [],  # noqa: B006 - FastAPI copies a form's defaults
    collections: Names = [],  # noqa: B006
    groups: Names = [],  # noqa: B006
    allowed_origins: Annotated[str, Form(max_length=7000)] = "",
    rate_limit: Annotated[str, Form(max_length=100)] = "",
    expires_on: Annotated[OptionalDate, Form()] = None,
) -> Response:
    """No collection ticked: every collection. An expiry date: the key stops at that day's start (UTC)."""
    body = KeyIn.model_validate(
        {
            "name": name,
            "kind": kind,
            "scopes": scopes,
            "collections": collections or None,
            "groups": groups,
            "allowed_origins": lines(allowed_origins) or None,
            "rate_limit": rate_limit.strip() or None,
            "expires_at": datetime.combine(expires_on, time.min, UTC) if expires_on else None,
        }
    )
    created = api_keys.create_key(body, keys, principal, audit)
    return _shown(request, _context(lore, keys, principal), created, f"Key “{created.name}” created.")


@router.delete("/keys/{key_id}")
def revoke_key(
    request: Request, key_id: KeyId, lore: LoreDep, keys: KeysDep, principal: PrincipalDep, audit: AuditDep
) -> Response:
    revoked = api_keys.revoke_key(key_id, keys, principal, audit)
    context = _context(lore, keys, principal, flash=f"Key “{revoked.name}” revoked: it no longer works.")
    return render(request, "keys.html", context, block="list")


@router.post("/keys/{key_id}/rotate")
def rotate_key(
    request: Request,
    key_id: KeyId,
    lore: LoreDep,
    keys: KeysDep,
    principal: PrincipalDep,
    audit: AuditDep,
    overlap_hours: Annotated[float, Form()] = 24.0,
) -> Response:
    """A new key with the same permissions, shown once; the old one works for the overlap."""
    body = KeyRotation.model_validate({"overlap_hours": overlap_hours})
    created = api_keys.rotate_key(key_id, body, keys, principal, audit)
    message = f"Key “{created.name}” rotated: the old key works for {overlap_hours:g} more hours."
    return _shown(request, _context(lore, keys, principal), created, message)
