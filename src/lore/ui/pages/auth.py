"""Signing in and out: the password step, the MFA step when the user has it on, and single sign-on when the
tenant has it configured. Each calls the API's own session handlers (`lore.api.routes.auth`), so a sign-in here
is audited, rate-limited and locked out exactly like one through `POST /v1/auth/session`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request, Response

from lore.api.audit import SignInAuditDep
from lore.api.deps import IdentityDep
from lore.api.routes import auth as api_auth
from lore.errors import LoreError
from lore.models import DEFAULT_TENANT
from lore.security.identity import Identity
from lore.ui.rendering import render
from lore.ui.routing import go_to, local_path, page_router, with_cookies
from lore.wire.identity import LoginIn, MfaLoginIn, MfaRequiredOut

router = page_router()
Next = Annotated[str | None, Query(max_length=2000)]
FormNext = Annotated[str | None, Form(max_length=2000)]


def _sso_available(identity: Identity, tenant: str) -> bool:
    try:
        identity.sso.config(tenant)
    except LoreError:
        return False
    return True


def _login_page(
    request: Request, identity: Identity, *, tenant: str, next_path: str, status: int = 200, **context: object
) -> Response:
    return render(
        request,
        "login.html",
        {"tenant": tenant, "next": next_path, "sso": _sso_available(identity, tenant), **context},
        status=status,
    )


@router.get("/")
def home(request: Request) -> Response:
    """The search page once signed in; else the sign-in page."""
    return go_to(request, "/search")


@router.get("/login")
def login_page(
    request: Request,
    identity: IdentityDep,
    next: Next = None,
    tenant: Annotated[str, Query(min_length=1, max_length=64)] = DEFAULT_TENANT,
) -> Response:
    return _login_page(request, identity, tenant=tenant, next_path=local_path(next))


@router.post("/login")
def login(
    request: Request,
    identity: IdentityDep,
    audit: SignInAuditDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    tenant: Annotated[str, Form(max_length=64)] = DEFAULT_TENANT,
    next: FormNext = None,
) -> Response:
    """The password step: signed in (on to `next`), or the MFA step's form."""
    body = LoginIn(tenant=tenant, email=email, password=password)
    cookies = Response()
    step = api_auth.open_session(body, identity, request, cookies, audit)
    if isinstance(step, MfaRequiredOut):
        return render(
            request, "login.html", {"mfa_token": step.mfa_token, "next": local_path(next)}, block="form"
        )
    return with_cookies(cookies, go_to(request, local_path(next)))


@router.post("/login/mfa")
def login_mfa(
    request: Request,
    identity: IdentityDep,
    audit: SignInAuditDep,
    mfa_token: Annotated[str, Form(max_length=4096)],
    code: Annotated[str, Form(max_length=64)],
    next: FormNext = None,
) -> Response:
    body = MfaLoginIn(mfa_token=mfa_token, code=code.strip().replace(" ", ""))
    cookies = Response()
    api_auth.open_session_mfa(body, identity, request, cookies, audit)
    return with_cookies(cookies, go_to(request, local_path(next)))


@router.post("/logout")
def logout(request: Request, identity: IdentityDep, audit: SignInAuditDep) -> Response:
    """Ends the session (its CSRF token checked by the API's handler) and clears its cookies."""
    cookies = api_auth.close_session(identity, request, audit)
    return with_cookies(cookies, go_to(request, "/login"))
