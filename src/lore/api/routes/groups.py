"""Groups of a tenant's users (admin): documents restricted to a group are readable by its members and by the
API keys that carry it. Deleting a group also withdraws every document grant that names it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep
from lore.api.errors import ERROR_RESPONSES
from lore.wire.access import GroupIn, GroupList, GroupOut

router = APIRouter(prefix="/v1/groups", tags=["groups"], responses=ERROR_RESPONSES)

GroupName = Annotated[str, Path(min_length=1, max_length=64)]
UserId = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("")
def list_groups(lore: LoreDep, principal: PrincipalDep) -> GroupList:
    """Every group of the tenant, by name, with its members."""
    groups = lore.store.groups.list_groups(principal.tenant_id)
    return GroupList(items=[GroupOut.of(group) for group in groups])


@router.post("", status_code=201)
def create_group(
    body: GroupIn, lore: LoreDep, principal: PrincipalDep, response: Response, audit: AuditDep
) -> GroupOut:
    """A new, empty group (409 `group_exists` if the name is taken)."""
    group = lore.store.groups.create(principal.tenant_id, body.name)
    audit.record("group.created", target=group.name)
    response.headers["Location"] = f"/v1/groups/{group.name}"
    return GroupOut.of(group)


@router.get("/{name}")
def get_group(name: GroupName, lore: LoreDep, principal: PrincipalDep) -> GroupOut:
    return GroupOut.of(lore.store.groups.get(principal.tenant_id, name))


@router.delete("/{name}", status_code=204)
def delete_group(name: GroupName, lore: LoreDep, principal: PrincipalDep, audit: AuditDep) -> Response:
    """The group, its memberships and the document grants naming it."""
    members = lore.store.groups.get(principal.tenant_id, name).members
    lore.store.groups.delete(principal.tenant_id, name)
    audit.record("group.deleted", target=name, summary={"members": list(members)})
    return Response(status_code=204)


@router.put("/{name}/members/{user_id}")
def add_member(
    name: GroupName, user_id: UserId, lore: LoreDep, principal: PrincipalDep, audit: AuditDep
) -> GroupOut:
    """Add one of the tenant's users (idempotent)."""
    group = lore.store.groups.add_member(principal.tenant_id, name, user_id)
    audit.record("group.member_added", target=name, summary={"user_id": user_id})
    return GroupOut.of(group)


@router.delete("/{name}/members/{user_id}")
def remove_member(
    name: GroupName, user_id: UserId, lore: LoreDep, principal: PrincipalDep, audit: AuditDep
) -> GroupOut:
    """Remove a user (idempotent)."""
    group = lore.store.groups.remove_member(principal.tenant_id, name, user_id)
    audit.record("group.member_removed", target=name, summary={"user_id": user_id})
    return GroupOut.of(group)
