"""API keys of the caller's tenant: create (the key is in the answer, once), list, show, revoke, rotate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import KeysDep
from lore.api.errors import ERROR_RESPONSES
from lore.wire.security import KeyCreated, KeyIn, KeyList, KeyOut, KeyRotation

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=ERROR_RESPONSES)

KeyId = Annotated[str, Path(min_length=1, max_length=64, description="A key's public id.")]


@router.post("", status_code=201)
def create_key(body: KeyIn, keys: KeysDep, principal: PrincipalDep, audit: AuditDep) -> KeyCreated:
    """A new key of the caller's tenant. The response holds the key itself: it is never shown again."""
    key, secret = keys.create(principal.tenant_id, body.spec(), created_by=principal.actor)
    audit.record("key.created", target=key.id, summary=key.summary())
    return KeyCreated.with_secret(key, secret)


@router.get("")
def list_keys(keys: KeysDep, principal: PrincipalDep) -> KeyList:
    return KeyList(items=[KeyOut.of(key) for key in keys.list(principal.tenant_id)])


@router.get("/{key_id}")
def get_key(key_id: KeyId, keys: KeysDep, principal: PrincipalDep) -> KeyOut:
    return KeyOut.of(keys.get(principal.tenant_id, key_id))


@router.delete("/{key_id}")
def revoke_key(key_id: KeyId, keys: KeysDep, principal: PrincipalDep, audit: AuditDep) -> KeyOut:
    """Revoked at once: the next request with it is refused."""
    key = keys.revoke(principal.tenant_id, key_id)
    audit.record("key.revoked", target=key.id, summary=key.summary())
    return KeyOut.of(key)


@router.post("/{key_id}/rotate", status_code=201)
def rotate_key(
    key_id: KeyId, body: KeyRotation, keys: KeysDep, principal: PrincipalDep, audit: AuditDep
) -> KeyCreated:
    """A new key with the same permissions; the old one works for `overlap_hours` more, as "rotating"."""
    key, secret = keys.rotate(principal.tenant_id, key_id, body.overlap, by=principal.actor)
    summary = {"replaced_by": key.id, "overlap_hours": body.overlap_hours}
    audit.record("key.rotated", target=key_id, summary=summary)
    return KeyCreated.with_secret(key, secret)
