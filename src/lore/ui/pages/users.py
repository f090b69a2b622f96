"""Users, groups and roles: the tenant's users (add one, change its role, disable or enable it, set its password,
reset its MFA), its groups and their members, and what each role may do. Every change is the API's own handler
(`lore.api.routes.users` and `groups`), so it is checked, validated and audited exactly as through `/v1/users`:
admins manage editors and viewers, only owners manage admins and owners."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any

from fastapi import Form, Path, Request, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import IdentityDep, LoreDep
from lore.api.routes import groups as api_groups
from lore.api.routes import users as api_users
from lore.models import utcnow
from lore.security.identity import Identity
from lore.security.passwords import random_password
from lore.security.principal import Principal
from lore.security.scopes import ROLE_SCOPES, ROLES
from lore.service import Lore
from lore.ui.rendering import render
from lore.ui.routing import page_router
from lore.wire.identity import PasswordResetIn, UserIn, UserOut, UserPatch

router = page_router()
UserId = Annotated[str, Path(min_length=1, max_length=64)]
Role = Annotated[str, Form(max_length=20)]
PasswordField = Annotated[str, Form(max_length=10_000)]
Generate = Annotated[bool, Form()]
PAGE_SIZE = 200
SCOPES_OF = {role: sorted(ROLE_SCOPES[role]) for role in ROLES}
# What each role holds beyond the next one down (ROLES runs from owner to viewer, who has none below).
BEYOND_BELOW = {role: sorted(ROLE_SCOPES[role] - ROLE_SCOPES[below]) for role, below in pairwise(ROLES)}
BEYOND_BELOW[ROLES[-1]] = []


def all_users(identity: Identity, principal: Principal) -> list[UserOut]:
    """Every user of the tenant, newest first, read page by page as the API lists them."""
    users: list[UserOut] = []
    cursor: str | None = None
    while True:
        page = api_users.list_users(identity, principal, limit=PAGE_SIZE, cursor=cursor)
        users.extend(page.items)
        if page.next_cursor is None:
            return users
        cursor = page.next_cursor


def context(lore: Lore, identity: Identity, principal: Principal, **more: Any) -> dict[str, Any]:
    """The users, the groups with their members' emails, and the roles with their scopes."""
    users = all_users(identity, principal)
    return {
        "users": users,
        "emails": {user.id: user.email for user in users},
        "groups": api_groups.list_groups(lore, principal).items,
        "roles": ROLES,
        "role_scopes": SCOPES_OF,
        "role_adds": BEYOND_BELOW,
        "now": utcnow(),
        "me": principal.id if principal.kind == "user" else None,
        **more,
    }


def _changed(request: Request, values: dict[str, Any], message: str, secret: str | None = None) -> Response:
    """A new or changed user's message (and its password, this once, when Lore chose it) with both lists."""
    return render(request, "users.html", {**values, "flash": message, "secret": secret}, block="changed")


def _password(password: str, generate: bool) -> tuple[str | None, str | None]:
    """The password to set (None: none) and the one to show once (only one Lore chose)."""
    if generate:
        chosen = random_password()
        return chosen, chosen
    return password or None, None


@router.get("/users")
def users_page(request: Request, lore: LoreDep, identity: IdentityDep, principal: PrincipalDep) -> Response:
    return render(request, "users.html", context(lore, identity, principal))


@router.post("/users")
def add_user(
    request: Request,
    lore: LoreDep,
    identity: IdentityDep,
    principal: PrincipalDep,
    audit: AuditDep,
    email: Annotated[str, Form(max_length=1000)] = "",
    role: Role = "viewer",
    password: PasswordField = "",
    generate: Generate = False,
) -> Response:
    """No password and none generated: the user signs in through single sign-on (or after a reset)."""
    chosen, shown = _password(password, generate)
    body = UserIn.model_validate({"email": email, "role": role, "password": chosen})
    user = api_users.create_user(body, identity, principal, audit)
    values = context(lore, identity, principal, changed_user=user.email)
    return _changed(request, values, f"User {user.email} added as {user.role}.", shown)


@router.patch("/users/{user_id}")
def update_user(
    request: Request,
    user_id: UserId,
    lore: LoreDep,
    identity: IdentityDep,
    principal: PrincipalDep,
    audit: AuditDep,
    role: Annotated[str | None, Form(max_length=20)] = None,
    disabled: Annotated[bool | None, Form()] = None,
) -> Response:
    """A new role, or disabled (its sign-ins end at once) or enabled again."""
    body = UserPatch.model_validate({"role": role, "disabled": disabled})
    user = api_users.update_user(user_id, body, identity, principal, audit)
    if role is not None:
        message = f"{user.email} is now {user.role}."
    else:
        message = f"{user.email} is {'disabled: its sign-ins ended' if user.disabled else 'enabled'}."
    values = context(lore, identity, principal, flash=message)
    return render(request, "users.html", values, block="users")


@router.post("/users/{user_id}/password")
def set_password(
    request: Request,
    user_id: UserId,
    lore: LoreDep,
    identity: IdentityDep,
    principal: PrincipalDep,
    audit: AuditDep,
    password: PasswordField = "",
    generate: Generate = False,
) -> Response:
    """The user's password, typed or chosen by Lore (shown once); its sign-ins end and a lockout lifts."""
    chosen, shown = _password(password, generate)
    user = api_users.reset_password(
        user_id, PasswordResetIn.model_validate({"password": chosen}), identity, principal, audit
    )
    values = context(lore, identity, principal, changed_user=user.email)
    return _changed(request, values, f"{user.email} has a new password: its sign-ins ended.", shown)


@router.delete("/users/{user_id}/mfa")
def reset_mfa(
    request: Request,
    user_id: UserId,
    lore: LoreDep,
    identity: IdentityDep,
    principal: PrincipalDep,
    audit: AuditDep,
) -> Response:
    user = api_users.reset_mfa(user_id, identity, principal, audit)
    message = f"MFA of {user.email} is off: it signs in with its password and may enrol again."
    return render(request, "users.html", context(lore, identity, principal, flash=message), block="users")
