"""Collections: list, inspect and delete. Counts are of the documents the caller may read; a key limited to
some collections sees only those; deleting one deletes all its documents with it, in one transaction."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep
from lore.api.errors import ERROR_RESPONSES
from lore.backends.store.documents import named_collections
from lore.models import CollectionInfo
from lore.security.access import check_collection, readers_of
from lore.security.principal import Principal
from lore.service import Lore
from lore.wire.schemas import CollectionDeleted, CollectionList, CollectionOut

router = APIRouter(prefix="/v1/collections", tags=["collections"], responses=ERROR_RESPONSES)

CollectionName = Annotated[str, Path(min_length=1, max_length=64, description="The collection's name.")]


def _visible(lore: Lore, principal: Principal) -> list[CollectionInfo]:
    """The tenant's collections that the caller may use, counted as it may read them."""
    infos = lore.list_collections(tenant_id=principal.tenant_id, readers=readers_of(principal))
    return [info for info in infos if principal.can_use_collection(info.name)]


@router.get("")
def list_collections(lore: LoreDep, principal: PrincipalDep) -> CollectionList:
    """Name order, empty collections included."""
    return CollectionList(items=[CollectionOut.of(info) for info in _visible(lore, principal)])


@router.get("/{name}")
def get_collection(name: CollectionName, lore: LoreDep, principal: PrincipalDep) -> CollectionOut:
    (info,) = named_collections(_visible(lore, principal), [name])
    return CollectionOut.of(info)


@router.delete("/{name}")
def delete_collection(
    name: CollectionName, lore: LoreDep, principal: PrincipalDep, audit: AuditDep
) -> CollectionDeleted:
    """The collection and every document in it, in one transaction; this process's searches stop finding
    them at once, other replicas' as their indexes catch up."""
    named_collections(_visible(lore, principal), [check_collection(principal, name)])
    deleted = lore.delete_collection(name, tenant_id=principal.tenant_id)
    audit.record("collection.deleted", name, {"documents": deleted})
    return CollectionDeleted(name=name, deleted_documents=deleted)
