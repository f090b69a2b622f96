"""A tenant's users, managed by its admins (admins and owners by its owners), and each user's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import IdentityDep
from lore.api.errors import ERROR_RESPONSES
from lore.security.credentials import must_enrol_mfa
from lore.wire.identity import MeOut, PasswordChangeIn, PasswordResetIn, UserIn, UserOut, UserPage, UserPatch

router = APIRouter(prefix="/v1", tags=["users"], responses=ERROR_RESPONSES)

UserId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/users")
def list_users(
    identity: IdentityDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> UserPage:
    """Newest first; follow `next_cursor` until it is null."""
    page = identity.accounts.list_users(principal.tenant_id, limit, cursor)
    return UserPage(items=[UserOut.of(user) for user in page.items], next_cursor=page.next_cursor)


@router.post("/users", status_code=201)
def create_user(body: UserIn, identity: IdentityDep, principal: PrincipalDep, audit: AuditDep) -> UserOut:
    """A new user of the caller's tenant; without a password it signs in through single sign-on."""
    user = identity.accounts.create(principal, body.email, body.role, body.password)
    audit.record("user.created", f"user:{user.id}", {"email": user.email, "role": user.role})
    return UserOut.of(user)


@router.get("/users/{user_id}")
def get_user(user_id: UserId, identity: IdentityDep, principal: PrincipalDep) -> UserOut:
    return UserOut.of(identity.accounts.get(principal.tenant_id, user_id))


@router.patch("/users/{user_id}")
def update_user(
    user_id: UserId, body: UserPatch, identity: IdentityDep, principal: PrincipalDep, audit: AuditDep
) -> UserOut:
    """Change a user's role, or disable it (its logins end at once) or enable it again."""
    before = identity.accounts.get(principal.tenant_id, user_id)
    after = identity.accounts.update(principal, user_id, role=body.role, disabled=body.disabled)
    summary = {
        "before": {"role": before.role, "disabled": before.disabled_at is not None},
        "after": {"role": after.role, "disabled": after.disabled_at is not None},
    }
    audit.record("user.updated", f"user:{user_id}", summary)
    return UserOut.of(after)


@router.post("/users/{user_id}/password")
def reset_password(
    user_id: UserId, body: PasswordResetIn, identity: IdentityDep, principal: PrincipalDep, audit: AuditDep
) -> UserOut:
    """Set a user's password for it: unlocks the account and ends its logins."""
    user = identity.accounts.reset_password(principal, user_id, body.password)
    audit.record("user.password_reset", f"user:{user_id}")
    return UserOut.of(user)


@router.delete("/users/{user_id}/mfa")
def reset_mfa(user_id: UserId, identity: IdentityDep, principal: PrincipalDep, audit: AuditDep) -> UserOut:
    """Turn a user's MFA off (a lost phone): it logs in with its password and enrols again."""
    user = identity.accounts.reset_mfa(principal, user_id)
    audit.record("user.mfa_reset", f"user:{user_id}")
    return UserOut.of(user)


@router.get("/me")
def me(identity: IdentityDep, principal: PrincipalDep) -> MeOut:
    """The signed-in user, with what this login may do now."""
    user = identity.accounts.me(principal)
    tenant = identity.tenants.require(user.tenant_id)
    return MeOut(
        **UserOut.of(user).model_dump(),
        scopes=sorted(principal.scopes),
        mfa_enrolment_required=must_enrol_mfa(user, tenant),
    )


@router.post("/me/password", status_code=204)
def change_password(
    body: PasswordChangeIn, identity: IdentityDep, principal: PrincipalDep, audit: AuditDep
) -> Response:
    """A new password, given the current one. Every login of the user ends, this one too: log in again."""
    identity.accounts.change_password(principal, body.current_password, body.new_password)
    audit.record("user.password_changed", principal.actor)
    return Response(status_code=204)
