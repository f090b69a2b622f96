"""How users prove who they are: password logins (with an MFA step when it is on), refresh and logout for API
clients; the same for the web UI's session cookie; single sign-on through the tenant's OpenID Connect provider;
and a user's own MFA enrolment.

Login with MFA has two steps: `POST /v1/auth/login` answers `{"status": "mfa_required", "mfa_token": ...}`
instead of tokens, and `POST /v1/auth/login/mfa` with that token and the code finishes it. Web sessions work
alike through `/v1/auth/session` and `/v1/auth/session/mfa`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from lore.api.audit import AuditDep, SignInAudit, SignInAuditDep
from lore.api.auth import PrincipalDep
from lore.api.deps import IdentityDep
from lore.api.errors import ERROR_RESPONSES, ErrorPage
from lore.errors import InvalidInput, LoreError, Unauthenticated
from lore.security.audit import ANONYMOUS
from lore.security.identity import Identity
from lore.security.logins import MfaChallenge, WebSession
from lore.security.sessions import (
    CSRF_HEADER,
    SESSION_COOKIE,
    clear_session_cookies,
    set_session_cookies,
)
from lore.security.sso import STATE_COOKIE, STATE_SECONDS, SignedOn
from lore.security.users import User
from lore.wire.identity import (
    EnrolmentOut,
    LoginIn,
    LoginOut,
    MfaCodeIn,
    MfaLoginIn,
    MfaRequiredOut,
    RecoveryCodesOut,
    RefreshIn,
    SessionLoginOut,
    SessionOut,
    TokensOut,
)

router = APIRouter(prefix="/v1/auth", tags=["auth"], responses=ERROR_RESPONSES)

TenantId = Annotated[str, Path(min_length=1, max_length=64)]
QueryValue = Annotated[str | None, Query(max_length=4096)]
OIDC_COOKIE_PATH = "/v1/auth/oidc/"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


# --- tokens for API clients ----------------------------------------------------------------------------------


def _check_password(body: LoginIn, identity: Identity, audit: SignInAudit) -> User | MfaChallenge:
    """The password step, audited: a failure (wrong password, locked, disabled) and a success alike."""
    summary = {"email": body.email}
    try:
        step = identity.logins.check_password(body.tenant, body.email, body.password)
    except LoreError as error:
        audit.record(body.tenant, ANONYMOUS, "auth.login_failed", {**summary, "reason": error.code})
        raise
    if isinstance(step, MfaChallenge):
        audit.record(body.tenant, ANONYMOUS, "auth.mfa_challenged", summary)
    else:
        audit.record(step.tenant_id, f"user:{step.id}", "auth.login", {**summary, "with": "password"})
    return step


@router.post("/login")
def login(body: LoginIn, identity: IdentityDep, audit: SignInAuditDep) -> LoginOut:
    """Email and password: a token pair, or an MFA challenge to finish with `POST /v1/auth/login/mfa`."""
    step = _check_password(body, identity, audit)
    if isinstance(step, MfaChallenge):
        return MfaRequiredOut.of(step)
    return TokensOut.of(identity.logins.issue_tokens(step))


def _check_code(body: MfaLoginIn, identity: Identity, audit: SignInAudit) -> User:
    user = identity.logins.check_code(body.mfa_token, body.code, audit.record)
    audit.record(user.tenant_id, f"user:{user.id}", "auth.login", {"email": user.email, "with": "mfa"})
    return user


@router.post("/login/mfa")
def login_mfa(body: MfaLoginIn, identity: IdentityDep, audit: SignInAuditDep) -> TokensOut:
    """The second step: the challenge and a TOTP or recovery code give the token pair."""
    return TokensOut.of(identity.logins.issue_tokens(_check_code(body, identity, audit)))


@router.post("/refresh")
def refresh(body: RefreshIn, identity: IdentityDep, audit: SignInAuditDep) -> TokensOut:
    """A new pair; the refresh token sent is used up. Sending a used one again ends its whole login."""
    return TokensOut.of(identity.logins.refresh(body.refresh_token, audit.record))


@router.post("/logout", status_code=204)
def logout(body: RefreshIn, identity: IdentityDep, audit: SignInAuditDep) -> Response:
    """End the login the refresh token belongs to: its access tokens stop working at once too."""
    identity.logins.logout(body.refresh_token, audit.record)
    return Response(status_code=204)


# --- web sessions --------------------------------------------------------------------------------------------


def _set_cookies(identity: Identity, session: WebSession, request: Request, response: Response) -> None:
    same_site = identity.settings.auth.session_same_site
    set_session_cookies(
        response,
        session.token,
        session.csrf_token,
        session.expires_at,
        secure=_secure(request),
        same_site=same_site,
    )


def _session_answer(identity: Identity, user: User, request: Request, response: Response) -> SessionOut:
    session = identity.logins.open_session(user)
    _set_cookies(identity, session, request, response)
    return SessionOut.of(session)


@router.post("/session")
def open_session(
    body: LoginIn, identity: IdentityDep, request: Request, response: Response, audit: SignInAuditDep
) -> SessionLoginOut:
    """A web session: sets the HttpOnly session cookie and the CSRF cookie (or answers an MFA challenge)."""
    step = _check_password(body, identity, audit)
    if isinstance(step, MfaChallenge):
        return MfaRequiredOut.of(step)
    return _session_answer(identity, step, request, response)


@router.post("/session/mfa")
def open_session_mfa(
    body: MfaLoginIn, identity: IdentityDep, request: Request, response: Response, audit: SignInAuditDep
) -> SessionOut:
    user = _check_code(body, identity, audit)
    return _session_answer(identity, user, request, response)


@router.delete("/session", status_code=204)
def close_session(identity: IdentityDep, request: Request, audit: SignInAuditDep) -> Response:
    """Log out of the web session (with its `X-CSRF-Token`) and clear its cookies."""
    token = request.cookies.get(SESSION_COOKIE)
    if token is not None:
        identity.logins.close_session(token, request.headers.get(CSRF_HEADER), audit.record)
    response = Response(status_code=204)
    clear_session_cookies(
        response, secure=_secure(request), same_site=identity.settings.auth.session_same_site
    )
    return response


# --- single sign-on ------------------------------------------------------------------------------------------


@router.get("/oidc/{tenant}/start", status_code=302, response_class=RedirectResponse)
def oidc_start(
    tenant: TenantId,
    identity: IdentityDep,
    request: Request,
    return_to: Annotated[
        str | None, Query(max_length=2000, description="A path here to go to afterwards.")
    ] = None,
) -> RedirectResponse:
    """Send the browser to the tenant's identity provider; it comes back to the callback."""
    callback = str(request.url_for("oidc_callback", tenant=tenant))
    start = identity.sso.start(tenant, callback, return_to)
    response = RedirectResponse(start.url, status_code=302)
    response.set_cookie(
        STATE_COOKIE,
        start.state_cookie,
        max_age=STATE_SECONDS,
        path=OIDC_COOKIE_PATH,
        secure=_secure(request),
        httponly=True,
        samesite="lax",  # the provider's redirect back is a cross-site navigation: Strict would drop it
    )
    return response


def _browser_navigation(request: Request) -> bool:
    """A person's browser, sent back by the provider, is shown the web UI's error page, not JSON."""
    return "text/html" in request.headers.get("accept", "")


def _finish_sign_on(
    tenant: str, identity: Identity, request: Request, code: str | None, state: str | None, error: str | None
) -> SignedOn:
    if error is not None:
        raise Unauthenticated(
            "the identity provider refused the sign-on", details={"reason": "provider_error", "error": error}
        )
    if code is None or state is None:
        raise InvalidInput(
            "the callback needs the provider's code and state", details={"fields": ["code", "state"]}
        )
    return identity.sso.finish(tenant, code, state, request.cookies.get(STATE_COOKIE))


@router.get(
    "/oidc/{tenant}/callback",
    name="oidc_callback",
    response_model=SessionOut,
    responses={303: {"description": "Signed on: on to `return_to`"}},
)
def oidc_callback(
    tenant: TenantId,
    identity: IdentityDep,
    request: Request,
    audit: SignInAuditDep,
    code: QueryValue = None,
    state: QueryValue = None,
    error: QueryValue = None,
) -> Response:
    """Where the provider sends the browser back: opens a web session (and goes on to `return_to`, if any).
    The sign-on is audited in the tenant, refused or not; a refusal is a page for a browser (same status and
    code), the error's JSON for anything else."""
    try:
        signed = _finish_sign_on(tenant, identity, request, code, state, error)
    except LoreError as refused:
        reason = refused.details.get("reason", refused.code)
        audit.record(tenant, ANONYMOUS, "auth.login_failed", {"with": "oidc", "reason": reason})
        if not _browser_navigation(request):
            raise
        error_page: ErrorPage = request.app.state.error_page
        return error_page(request, refused)
    user = signed.user
    audit.record(user.tenant_id, f"user:{user.id}", "auth.login", {"email": user.email, "with": "oidc"})
    session = identity.logins.open_session(user)
    response: Response
    if signed.return_to is not None:
        response = RedirectResponse(signed.return_to, status_code=303)
    else:
        response = Response(SessionOut.of(session).model_dump_json(), media_type="application/json")
    _set_cookies(identity, session, request, response)
    response.delete_cookie(
        STATE_COOKIE, path=OIDC_COOKIE_PATH, secure=_secure(request), httponly=True, samesite="lax"
    )
    return response


# --- a user's own MFA ----------------------------------------------------------------------------------------


@router.post("/mfa/enrol")
def mfa_enrol(identity: IdentityDep, principal: PrincipalDep, audit: AuditDep) -> EnrolmentOut:
    """A new TOTP secret for the signed-in user; MFA is on once `POST /v1/auth/mfa/verify` proves a code."""
    enrolment = identity.mfa.enrol(identity.accounts.me(principal))
    audit.record("user.mfa_enrolment_started", principal.actor)
    return EnrolmentOut.of(enrolment)


@router.post("/mfa/verify")
def mfa_verify(
    body: MfaCodeIn, identity: IdentityDep, principal: PrincipalDep, audit: AuditDep
) -> RecoveryCodesOut:
    """Turn MFA on with the app's current code; the answer holds the ten recovery codes, shown this once."""
    codes = identity.mfa.verify(identity.accounts.me(principal), body.code)
    audit.record("user.mfa_enabled", principal.actor)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/mfa/recovery-codes")
def mfa_recovery_codes(
    body: MfaCodeIn, identity: IdentityDep, principal: PrincipalDep, audit: AuditDep
) -> RecoveryCodesOut:
    """Ten new recovery codes for a current TOTP code; the old ones stop working."""
    codes = identity.mfa.regenerate_codes(identity.accounts.me(principal), body.code)
    audit.record("user.recovery_codes_replaced", principal.actor)
    return RecoveryCodesOut(recovery_codes=codes)
