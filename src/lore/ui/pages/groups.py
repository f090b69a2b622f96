"""The groups section of the users page: create and delete a group, add and remove its members. Each is the
API's own handler (`lore.api.routes.groups`); the page's group list comes back with its message."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Request, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import IdentityDep, LoreDep
from lore.api.routes import groups as api_groups
from lore.api.routes import users as api_users
from lore.security.identity import Identity
from lore.security.principal import Principal
from lore.service import Lore
from lore.ui.pages.users import context
from lore.ui.rendering import render
from lore.ui.routing import page_router
from lore.wire.access import GroupIn

router = page_router()
GroupName = Annotated[str, Path(min_length=1, max_length=64)]
UserId = Annotated[str, Path(min_length=1, max_length=200)]


def _groups(request: Request, lore: Lore, identity: Identity, principal: Principal, message: str) -> Response:
    return render(request, "users.html", context(lore, identity, principal, flash=message), block="groups")


def _email(identity: Identity, principal: Principal, user_id: str) -> str:
    return api_users.get_user(user_id, identity, principal).email


@router.post("/groups")
def create_group(
    request: Request,
    lore: LoreDep,
    identity: IdentityDep,
    principal: PrincipalDep,
    audit: AuditDep,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    body = GroupIn.model_validate({"name": name})
    group = api_groups.create_group(body, lore, principal, Response(), audit)
    return _groups(request, lore, identity, principal, f"Group “{group.name}” created.")


@router.delete("/groups/{name}")
def delete_group(
    request: Request,
    name: GroupName,
    lore: LoreDep,
    identity: IdentityDep,
    principal: PrincipalDep,
    audit: AuditDep,
) -> Response:
    api_groups.delete_group(name, lore, principal, audit)
    message = f"Group “{name}” deleted, and the document grants that named it."
    return _groups(request, lore, identity, principal, message)


@router.post("/groups/{name}/members")
def add_member(
    request: Request,
    name: GroupName,
    lore: LoreDep,
    identity: IdentityDep,
    principal: PrincipalDep,
    audit: AuditDep,
    user_id: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    """The member comes from a form's field (a select of the tenant's users), not from the path."""
    api_groups.add_member(name, user_id, lore, principal, audit)
    return _groups(
        request, lore, identity, principal, f"{_email(identity, principal, user_id)} added to “{name}”."
    )


@router.delete("/groups/{name}/members/{user_id}")
def remove_member(
    request: Request,
    name: GroupName,
    user_id: UserId,
    lore: LoreDep,
    identity: IdentityDep,
    principal: PrincipalDep,
    audit: AuditDep,
) -> Response:
    api_groups.remove_member(name, user_id, lore, principal, audit)
    message = f"{_email(identity, principal, user_id)} removed from “{name}”."
    return _groups(request, lore, identity, principal, message)
