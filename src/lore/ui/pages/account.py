"""The signed-in user's own account: who they are, a new password, and two-factor sign-in (TOTP enrolment, its
first code, and recovery codes shown once). Each change is the API's own handler (`lore.api.routes.users` and
`lore.api.routes.auth`), so it is checked and audited exactly as `POST /v1/me/password`, `POST
/v1/auth/mfa/enrol`, `POST /v1/auth/mfa/verify` and `POST /v1/auth/mfa/recovery-codes`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request, Response

from lore.api.audit import AuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import IdentityDep
from lore.api.routes import auth as api_auth
from lore.api.routes import users as api_users
from lore.errors import InvalidInput
from lore.security.identity import Identity
from lore.security.principal import Principal
from lore.security.sessions import clear_session_cookies
from lore.ui.rendering import render
from lore.ui.routing import page_router
from lore.wire.identity import MeOut, MfaCodeIn, PasswordChangeIn, RecoveryCodesOut

router = page_router()
Secret = Annotated[str, Form(max_length=1024)]
Code = Annotated[str, Form(max_length=64)]


def grouped(secret: str, size: int = 4) -> str:
    """`ABCDEFGH...` as `ABCD EFGH ...`: easier to type into an app than one long run."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


def sign_in_ways(me: MeOut) -> list[str]:
    """Single sign-on, a password or both (two-factor sign-in has its own section, swapped as it changes)."""
    return (["single sign-on"] if me.single_sign_on else []) + (["a password"] if me.has_password else [])


def _me(identity: Identity, principal: Principal) -> dict[str, Any]:
    """What `GET /v1/me` says of the user, and the ways they sign in, said in words."""
    me = api_users.me(identity, principal)
    return {"me": me, "sign_in_ways": sign_in_ways(me)}


def _codes(
    request: Request, identity: Identity, principal: Principal, codes: RecoveryCodesOut, flash: str
) -> Response:
    """The recovery codes, this once, in the two-factor section (now saying it is on)."""
    context = {**_me(identity, principal), "recovery_codes": codes.recovery_codes, "flash": flash}
    return render(request, "account.html", context, block="mfa")


@router.get("/account")
def account_page(request: Request, identity: IdentityDep, principal: PrincipalDep) -> Response:
    return render(request, "account.html", _me(identity, principal))


@router.post("/account/password")
def change_password(
    request: Request,
    identity: IdentityDep,
    principal: PrincipalDep,
    audit: AuditDep,
    current_password: Secret,
    new_password: Secret,
    repeated_password: Secret,
) -> Response:
    """Every login of the user ends, this one too: the session's cookies go, and the page says to sign in."""
    if new_password != repeated_password:
        raise InvalidInput(
            "the new password and its repetition differ", details={"field": "repeated_password"}
        )
    body = PasswordChangeIn(current_password=current_password, new_password=new_password)
    api_users.change_password(body, identity, principal, audit)
    response = render(request, "account.html", {"password_changed": True}, block="password")
    secure = request.url.scheme == "https"
    clear_session_cookies(response, secure=secure, same_site=identity.settings.auth.session_same_site)
    return response


@router.post("/account/mfa/enrol")
def enrol_mfa(request: Request, identity: IdentityDep, principal: PrincipalDep, audit: AuditDep) -> Response:
    """A new TOTP secret, shown this once, and the form for the app's first code."""
    enrolment = api_auth.mfa_enrol(identity, principal, audit)
    context = {
        **_me(identity, principal),
        "enrolment": enrolment,
        "grouped_secret": grouped(enrolment.secret),
    }
    return render(request, "account.html", context, block="mfa")


@router.post("/account/mfa/verify")
def verify_mfa(
    request: Request, identity: IdentityDep, principal: PrincipalDep, audit: AuditDep, code: Code
) -> Response:
    codes = api_auth.mfa_verify(MfaCodeIn(code=code), identity, principal, audit)
    return _codes(request, identity, principal, codes, "Two-factor sign-in is on.")


@router.post("/account/mfa/recovery-codes")
def replace_recovery_codes(
    request: Request, identity: IdentityDep, principal: PrincipalDep, audit: AuditDep, code: Code
) -> Response:
    codes = api_auth.mfa_recovery_codes(MfaCodeIn(code=code), identity, principal, audit)
    return _codes(
        request, identity, principal, codes, "New recovery codes made: the old ones no longer work."
    )
